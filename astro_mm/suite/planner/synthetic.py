"""Training batches of a config's shapes, made in memory: the planner times
real training steps without opening a file of any dataset."""
import copy
import re
from functools import partial
from typing import List, Optional, Sequence

import numpy as np

from .facts import DatasetFacts, PlanError, find_key, train_dataset, type_name


def without_geometry(transforms: Sequence) -> List:
    """A pipeline without its resizes and crops (also inside MultiView and
    RandomChoice): the smoke-test mode, which runs at a given image size."""
    kept = []
    for transform in transforms:
        if isinstance(transform, (list, tuple)):
            kept.append(without_geometry(transform))
            continue
        name = type_name(transform)
        if re.search(r'Resize|Crop', name) or name == 'RandomChoice':
            continue
        if 'transforms' in transform:
            transform = dict(transform)
            transform['transforms'] = without_geometry(
                transform['transforms'])
        kept.append(transform)
    return kept


def pad_small_swin_maps(model_cfg) -> None:
    """Smoke-test mode: a Swin backbone at a small image size pads its
    feature maps up to the window (at its real size it needs no padding)."""
    if isinstance(model_cfg, dict):
        if 'Swin' in type_name(model_cfg):
            model_cfg['pad_small_map'] = True
        values = model_cfg.values()
    elif isinstance(model_cfg, (list, tuple)):
        values = model_cfg
    else:
        return
    for value in values:
        pad_small_swin_maps(value)



class SyntheticBatches:
    """Training batches of a config's shapes, made in memory.

    Raw samples (a random image of the training set's size; for a detector
    a few random boxes with polygon masks) go through the config's training
    pipeline without its ``LoadImage*`` transform, then through the
    dataloader's ``collate_fn``.

    Args:
        cfg (Config): The run's config.
        facts (DatasetFacts): The training set (raw image size, objects).
        batch_size (int): Samples per batch.
        image_size (int, optional): Smoke-test mode: square images of this
            size, the pipeline's resizes and crops dropped.
        seed (int): Seed of the random images and boxes.
    """

    def __init__(self, cfg, facts: DatasetFacts, batch_size: int,
                 image_size: Optional[int] = None, seed: int = 0):
        from mmengine.dataset import Compose
        from mmengine.registry import FUNCTIONS
        dataset = train_dataset(cfg)
        transforms = [t for t in dataset['pipeline']
                      if not type_name(t).startswith('LoadImage')]
        shape = facts.image_shape
        if image_size is not None:
            transforms = without_geometry(transforms)
            shape = (image_size, image_size) + tuple(shape[2:])
        self.pipeline = Compose(copy.deepcopy(transforms))
        self.shape = shape
        self.facts = facts
        self.batch_size = batch_size
        num_classes = find_key(cfg.model, 'num_classes')
        if num_classes is None:
            raise PlanError('model: no num_classes found; the synthetic '
                            'labels need it')
        self.num_classes = int(num_classes)
        collate = copy.deepcopy(
            cfg.train_dataloader.get('collate_fn',
                                     dict(type='pseudo_collate')))
        function = collate.pop('type')
        if isinstance(function, str):
            function = FUNCTIONS.get(function)
        self.collate = partial(function, **collate)
        self.rng = np.random.default_rng(seed)

    def _raw(self, index: int) -> dict:
        height, width = self.shape[:2]
        img = self.rng.integers(0, 256, size=self.shape, dtype=np.uint8)
        sample = dict(img=img, img_shape=(height, width),
                      ori_shape=(height, width), img_path=f'synthetic_{index}',
                      sample_idx=index)
        if not self.facts.objects:
            sample['gt_label'] = int(self.rng.integers(self.num_classes))
            return sample
        sample.update(img_id=index, height=height, width=width,
                      seg_map_path=None, instances=[
                          self._instance(height, width)
                          for _ in range(self.facts.objects)])
        return sample

    def _instance(self, height: int, width: int) -> dict:
        """A random box (10-50 % of the image side) and the octagon
        inscribed in it as its polygon mask."""
        w, h = self.rng.uniform(0.1, 0.5, size=2) * (width, height)
        x1 = self.rng.uniform(0, width - w)
        y1 = self.rng.uniform(0, height - h)
        cx, cy = x1 + w / 2, y1 + h / 2
        angles = np.arange(8) * np.pi / 4
        polygon = np.stack([cx + w / 2 * np.cos(angles),
                            cy + h / 2 * np.sin(angles)], 1)
        return dict(bbox=[x1, y1, x1 + w, y1 + h],
                    bbox_label=int(self.rng.integers(self.num_classes)),
                    ignore_flag=0, mask=[polygon.ravel().tolist()])

    def __call__(self) -> dict:
        """One collated batch."""
        samples = []
        for attempt in range(20 * self.batch_size):
            sample = self.pipeline(self._raw(attempt))
            if sample is not None:  # a filter transform may drop a sample
                samples.append(sample)
            if len(samples) == self.batch_size:
                return self.collate(samples)
        raise PlanError('the training pipeline dropped almost every '
                        'synthetic sample')
