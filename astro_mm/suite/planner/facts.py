"""What the planner knows of a unit before it runs: read from its config.

The training set a config reads and its size (never opened), the
pipeline's dataset, the alternation settings (``AlternationHook``, R_TN),
and parsing configs with the packages' metafiles read once.
"""
import inspect
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from astro_mm.datasets import generate_demo_cifar, generate_demo_coco
from astro_mm.engine.hooks.alternation_hook import AlternationHook
from astro_mm.models.algorithms.alternating import AlternatingAlgorithm


class PlanError(ValueError):
    """A config the planner cannot cost; the message names the key."""


@dataclass(frozen=True)
class DatasetFacts:
    """What the planner needs of a training set it never reads.

    Attributes:
        name (str): The set, as the table names it.
        train_images (int): Images of the training split.
        image_shape (tuple): A raw image as the dataset yields it to the
            pipeline: (H, W, C), or (H, W) for a one-channel set.
        objects (int): Instances per synthetic detection image (0: a
            classification set).
    """
    name: str
    train_images: int
    image_shape: Tuple[int, ...]
    objects: int = 0


def _generator_default(function: Callable, name: str):
    """A default argument of the demo data generator (what it writes)."""
    return inspect.signature(function).parameters[name].default


def _demo_cifar() -> DatasetFacts:
    return DatasetFacts('demo CIFAR (generated)',
                        _generator_default(generate_demo_cifar, 'num_train'),
                        (32, 32, 3))


def _demo_coco() -> DatasetFacts:
    width, height = _generator_default(generate_demo_coco, 'image_size')
    # the generator draws 1-5 objects per image
    return DatasetFacts('demo COCO (generated)',
                        _generator_default(generate_demo_coco, 'num_train'),
                        (height, width, 3), objects=3)


CIFAR10 = DatasetFacts('CIFAR-10', 50_000, (32, 32, 3))
CIFAR100 = DatasetFacts('CIFAR-100', 50_000, (32, 32, 3))
FASHION_MNIST = DatasetFacts('Fashion-MNIST', 60_000, (28, 28))
MNIST = DatasetFacts('MNIST', 60_000, (28, 28))
# 500 x 375 is ImageNet's most common photo size; RandomResizedCrop makes
# the training shape whatever the source
IMAGENET = DatasetFacts('ImageNet-1k', 1_281_167, (375, 500, 3))
# COCO train2017: 118,287 images, 117,266 of them with annotations (what
# mmdet's filter_empty_gt=True keeps); 7.3 instances per image on average;
# 640 x 480 is its most common image size
COCO_TRAIN2017 = DatasetFacts('COCO train2017', 118_287, (480, 640, 3),
                              objects=7)
COCO_TRAIN2017_ANNOTATED = 117_266



def type_name(cfg: dict) -> str:
    """A config's ``type`` without its scope (``mmdet.ResNet`` -> ResNet)."""
    kind = cfg.get('type', '')
    if not isinstance(kind, str):
        kind = getattr(kind, '__name__', str(kind))
    return kind.rsplit('.', 1)[-1]


def dataset_facts(dataset: dict, where: str = 'train_dataloader.dataset'
                  ) -> Tuple[DatasetFacts, int]:
    """The training set a dataset config reads, and how many images of it.

    ``indices`` (a first-N subset or a list) and the wrappers
    ``RepeatDataset`` / ``ConcatDataset`` / ``astro_mm.HoldOutSubset`` are
    taken into account.

    Args:
        dataset (dict): A dataset config.
        where (str): Its key, for the error message.

    Returns:
        tuple[DatasetFacts, int]: The set and its images per epoch.

    Raises:
        PlanError: A dataset type / path whose size the planner does not
            know.
    """
    kind = type_name(dataset)
    if kind == 'RepeatDataset':
        facts, images = dataset_facts(dataset['dataset'], where + '.dataset')
        return facts, images * int(dataset['times'])
    if kind == 'ConcatDataset':
        parts = [dataset_facts(d, f'{where}.datasets.{i}')
                 for i, d in enumerate(dataset['datasets'])]
        return parts[0][0], sum(images for _, images in parts)
    if kind == 'HoldOutSubset':  # astro_mm's validation split
        facts, images = dataset_facts(dataset['dataset'], where + '.dataset')
        held = int(dataset['holdout'])
        return facts, held if dataset['part'] == 'holdout' else images - held
    root = str(dataset.get('data_root', ''))
    ann_file = str(dataset.get('ann_file', ''))
    if kind == 'CIFAR10':
        facts = CIFAR10
    elif kind == 'CIFAR100':
        facts = CIFAR100
    elif kind == 'GeneratedCIFAR10':
        facts = _demo_cifar()
    elif kind == 'FashionMNIST':
        facts = FASHION_MNIST
    elif kind == 'MNIST':
        facts = MNIST
    elif kind == 'ImageNet':
        facts = IMAGENET
    elif kind in ('CocoDataset', 'CheckedCocoDataset') and \
            'train2017' in ann_file:
        facts = COCO_TRAIN2017
    elif kind in ('CocoDataset', 'CheckedCocoDataset') and \
            'demo_coco' in root + ann_file:
        facts = _demo_coco()
    else:
        raise PlanError(
            f'{where}: the planner does not know the size of the training '
            f'set type={dataset.get("type")!r} (data_root={root!r}, '
            f'ann_file={ann_file!r}); known: CIFAR10, CIFAR100, '
            'GeneratedCIFAR10 (demo), FashionMNIST, MNIST, ImageNet, '
            'CocoDataset train2017 and the demo COCO set')
    images = facts.train_images
    if facts is COCO_TRAIN2017 and \
            dataset.get('filter_cfg', {}).get('filter_empty_gt', False):
        images = COCO_TRAIN2017_ANNOTATED
    indices = dataset.get('indices')
    if isinstance(indices, int):
        images = min(images, indices)
    elif indices is not None:
        images = len(indices)
    return facts, images


def train_dataset(cfg) -> dict:
    """The dataset config whose pipeline makes the training samples (inside
    any wrappers)."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset:
        if 'dataset' in dataset:
            dataset = dataset['dataset']
        elif 'datasets' in dataset:
            dataset = dataset['datasets'][0]
        else:
            raise PlanError('train_dataloader.dataset: no pipeline found '
                            f'(type={dataset.get("type")!r})')
    return dataset


def find_key(cfg, key: str):
    """The first value of ``key`` anywhere in a nested config."""
    if isinstance(cfg, dict):
        if key in cfg:
            return cfg[key]
        values = cfg.values()
    elif isinstance(cfg, (list, tuple)):
        values = cfg
    else:
        return None
    for value in values:
        found = find_key(value, key)
        if found is not None:
            return found
    return None


def alternation_hook_of(cfg):
    """The config's :class:`AlternationHook` (None without one), built from
    its ``custom_hooks`` entry as the runner builds it."""
    for hook in cfg.get('custom_hooks') or []:
        if type_name(hook) == 'AlternationHook':
            return AlternationHook(**{k: v for k, v in hook.items()
                                      if k not in ('type', 'priority')})
    return None


def warmup_rounds_of(cfg) -> Optional[int]:
    """R_TN of an ``AlternatingAlgorithm`` config (None: another model)."""
    if type_name(cfg.model) != 'AlternatingAlgorithm':
        return None
    default = inspect.signature(AlternatingAlgorithm).parameters[
        'warmup_rounds'].default
    return int(cfg.model.get('warmup_rounds', default))


# The model-index metafiles of the installed OpenMMLab packages, parsed once
# per process (see parse_config).
_METAFILES: Dict[str, object] = {}


def parse_config(path: str):
    """``Config.fromfile``, with the packages' metafiles read once.

    For every ``mmpretrain::`` / ``mmdet::`` base, mmengine reads all of
    the package's model-index YAML files (hundreds) to look the name up;
    that is ~80 % of parsing a config here. A suite's plan parses dozens of
    configs, so the files are parsed once per process (they do not change
    while it runs).
    """
    from mmengine.config import Config
    from mmengine.config import utils as config_utils
    load = config_utils.load

    def load_once(file, *args, **kwargs):
        if not isinstance(file, str) or args or kwargs:
            return load(file, *args, **kwargs)
        if file not in _METAFILES:
            _METAFILES[file] = load(file)
        # mmengine only looks names up in them: no copy needed
        return _METAFILES[file]

    config_utils.load = load_once
    try:
        return Config.fromfile(path)
    finally:
        config_utils.load = load
