"""The cost planner: what every run of a suite costs, measured before any
machine is booked (``tools/run_suite.py SUITE --plan``).

For each run of a suite (parsed by :func:`.config.load_suite`, with the
run's ``cfg_options`` and seeds) the planner builds the runner the config
asks for, exactly as ``tools/train.py`` does (model, model wrapper, optim
wrapper, hooks), and times a few of the model's own ``train_step`` calls on
synthetic inputs of the config's real shapes. An astro run's steps are
therefore :class:`~astro_mm.models.AlternatingAlgorithm`'s: every phase of
Algorithm 1 that the schedule contains (W alone, Phi-step, W under cached
P, Phi-then-W per batch) is timed on its own and weighted by its share of
the schedule's iterations.

Synthetic inputs go through the config's own training pipeline (only the
``LoadImage*`` transform is dropped: the image is made in memory), so the
shapes are the config's: 32 px crops for CIFAR, RandomResizedCrop's 224 or
384 px for ImageNet, the detectors' Resize (e.g. 1333 x 800) of a
COCO-sized 640 x 480 image with a few random boxes and polygon masks. No
file of any dataset is opened.

The schedule is read from ``train_cfg`` (``max_epochs`` x iterations per
epoch, from the known size of the training set and the batch, or
``max_iters``) and the number of devices from the config's name
(OpenMMLab's ``8xb16``) or ``auto_scale_lr.base_batch_size`` / batch.
Device-hours = iterations per device x devices / (iterations per second) /
3600, per seed; a run costs that times its seeds.

A step's time is the median of the timed steps (one that another process
slowed down does not move it). Each run is measured in a fresh process, so
its peak memory (:class:`PeakMemory`) is its own. A detector whose backbone
is a pruned export that does not exist yet is costed at the unpruned
widths (an upper bound).

Not counted: data loading (dataloader workers overlap with the step),
validation during training, testing, pruning. A suite's fine-tune (after
pruning) is counted at the unmodulated W-step's speed of the unpruned
network (an upper bound: the pruned network is smaller).
"""
import copy
import gc
import inspect
import itertools
import json
import math
import os
import os.path as osp
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .complexity import _parse_options
from .launch import devices_of

# The phases of Algorithm 1 as the table names them (AlternatingAlgorithm's
# PHASES), in the order a schedule reaches them.
PHASE_LABELS = dict(warmup='W', phi='Phi', tnet='W(P)', batch='Phi+W')
PHASE_ORDER = ('warmup', 'phi', 'tnet', 'batch')
PRUNED_BACKBONES = ('PrunedResNet', 'PrunedBackbone')
# MA-Net Tab. 11's time column is in GPU days per training run.
PAPER_DAYS_KEY = 'gpu_days'
# numbers the runners this process builds (their loggers and visualizers
# are per name for the whole process)
_RUNNER_NAMES = itertools.count()
# the line of a measuring subprocess that carries its result
_RESULT_MARK = 'astro_mm-plan-measurement: '


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
    from astro_mm.datasets import generate_demo_cifar
    return DatasetFacts('demo CIFAR (generated)',
                        _generator_default(generate_demo_cifar, 'num_train'),
                        (32, 32, 3))


def _demo_coco() -> DatasetFacts:
    from astro_mm.datasets import generate_demo_coco
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


def _type_name(cfg: dict) -> str:
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
    kind = _type_name(dataset)
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


def _train_dataset(cfg) -> dict:
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


@dataclass
class Schedule:
    """The training schedule of a config, per device.

    Attributes:
        devices (int): Devices the schedule is written for.
        devices_from (str): Where that number comes from.
        batch_size (int): Samples per device and step.
        iters (int): Training steps of the whole schedule, per device.
        epochs (int, optional): ``max_epochs`` of an epoch-based loop.
        iters_per_epoch (int, optional): Steps per epoch and device.
        dataset_images (int, optional): Training images per epoch.
        dataset (str, optional): The training set.
    """
    devices: int
    devices_from: str
    batch_size: int
    iters: int
    epochs: Optional[int] = None
    iters_per_epoch: Optional[int] = None
    dataset_images: Optional[int] = None
    dataset: Optional[str] = None

    def describe(self) -> str:
        if self.epochs is not None:
            return (f'{self.epochs} ep x {self.iters_per_epoch:,} it '
                    f'({self.dataset}, {self.dataset_images:,} img)')
        return f'{self.iters:,} it (max_iters)'


def schedule_of(cfg, config_path: str) -> Schedule:
    """The full training schedule of a config (see :class:`Schedule`).

    Raises:
        PlanError: ``train_cfg`` has neither ``max_epochs`` nor
            ``max_iters``, or the training set's size is unknown.
    """
    train_cfg = cfg.get('train_cfg') or {}
    batch = int(cfg.train_dataloader.batch_size)
    devices, devices_from = devices_of(cfg, config_path)
    by_iters = 'max_iters' in train_cfg or \
        _type_name(train_cfg) == 'IterBasedTrainLoop'
    if by_iters:
        if 'max_iters' not in train_cfg:
            raise PlanError(f'{config_path}: train_cfg: an iteration-based '
                            'loop needs max_iters')
        return Schedule(devices, devices_from, batch,
                        iters=int(train_cfg['max_iters']))
    if 'max_epochs' not in train_cfg:
        raise PlanError(f'{config_path}: train_cfg has neither max_epochs '
                        f'nor max_iters: {dict(train_cfg)}')
    facts, images = dataset_facts(cfg.train_dataloader.dataset)
    # mmengine's DefaultSampler pads the set to a multiple of the devices
    # and gives each ceil(images / devices) samples
    per_device = math.ceil(images / devices)
    if cfg.train_dataloader.get('drop_last', False):
        per_epoch = per_device // batch
    else:
        per_epoch = math.ceil(per_device / batch)
    epochs = int(train_cfg['max_epochs'])
    return Schedule(devices, devices_from, batch, iters=epochs * per_epoch,
                    epochs=epochs, iters_per_epoch=per_epoch,
                    dataset_images=images, dataset=facts.name)


def phase_iterations(schedule: Schedule, hook, warmup_rounds: int
                     ) -> Dict[str, int]:
    """Steps of each phase of Algorithm 1 over a schedule.

    Args:
        schedule (Schedule): The config's schedule.
        hook (AlternationHook, optional): The runner's hook (its round unit
            and interval); None: the round never moves from 1.
        warmup_rounds (int): R_TN of the algorithm.

    Returns:
        dict: phase (``warmup``, ``phi``, ``tnet``, ``batch``) -> steps per
        device; they sum to ``schedule.iters``.
    """
    from astro_mm.models.algorithms.alternating import AlternatingAlgorithm
    phase_of = AlternatingAlgorithm.phase_of
    counts: Counter = Counter()
    unit = hook.round_unit if hook is not None else None
    interval = hook.round_interval if hook is not None else 1
    if unit is None or (unit == 'epoch' and schedule.epochs is None):
        # the round is read from the runner's epoch, which an
        # iteration-based loop never advances
        counts[phase_of(1, warmup_rounds)] = schedule.iters
    elif unit == 'epoch':
        for epoch in range(schedule.epochs):
            counts[phase_of(epoch // interval + 1, warmup_rounds)] += \
                schedule.iters_per_epoch
    else:
        per_batch = unit == 'batch'
        for start in range(0, schedule.iters, interval):
            phase = phase_of(start // interval + 1, warmup_rounds, per_batch)
            counts[phase] += min(interval, schedule.iters - start)
    return {phase: counts[phase] for phase in PHASE_ORDER if counts[phase]}


def first_round_of(phase: str, warmup_rounds: int) -> int:
    """The first round (1-based) in ``phase`` (``batch``: the first round
    after the warm-up, with per-batch alternation)."""
    if phase == 'warmup':
        return 1
    first = warmup_rounds + 1
    if phase == 'phi':
        return first + first % 2
    if phase == 'tnet':
        return first + 1 - first % 2
    return first


# ------------------------------------------------------- synthetic inputs
def without_geometry(transforms: Sequence) -> List:
    """A pipeline without its resizes and crops (also inside MultiView and
    RandomChoice): the smoke-test mode, which runs at a given image size."""
    kept = []
    for transform in transforms:
        if isinstance(transform, (list, tuple)):
            kept.append(without_geometry(transform))
            continue
        name = _type_name(transform)
        if re.search(r'Resize|Crop', name) or name == 'RandomChoice':
            continue
        if 'transforms' in transform:
            transform = dict(transform)
            transform['transforms'] = without_geometry(
                transform['transforms'])
        kept.append(transform)
    return kept


def _pad_small_swin_maps(model_cfg) -> None:
    """Smoke-test mode: a Swin backbone at a small image size pads its
    feature maps up to the window (at its real size it needs no padding)."""
    if isinstance(model_cfg, dict):
        if 'Swin' in _type_name(model_cfg):
            model_cfg['pad_small_map'] = True
        values = model_cfg.values()
    elif isinstance(model_cfg, (list, tuple)):
        values = model_cfg
    else:
        return
    for value in values:
        _pad_small_swin_maps(value)


def _find_key(cfg, key: str):
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
        found = _find_key(value, key)
        if found is not None:
            return found
    return None


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
        dataset = _train_dataset(cfg)
        transforms = [t for t in dataset['pipeline']
                      if not _type_name(t).startswith('LoadImage')]
        shape = facts.image_shape
        if image_size is not None:
            transforms = without_geometry(transforms)
            shape = (image_size, image_size) + tuple(shape[2:])
        self.pipeline = Compose(copy.deepcopy(transforms))
        self.shape = shape
        self.facts = facts
        self.batch_size = batch_size
        num_classes = _find_key(cfg.model, 'num_classes')
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


# ----------------------------------------------------------------- memory
def _proc_status(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class PeakMemory:
    """Peak memory of a block of work on ``device``.

    On a GPU: ``torch.cuda.max_memory_allocated`` (the tensors: weights,
    gradients, optimizer state, activations), its counter reset at the
    start. On a CPU (Linux): the peak resident set size of the process
    (VmHWM, reset at the start through ``/proc/self/clear_refs``) above
    the resident size at the start. Without ``clear_refs``: the process's
    ``ru_maxrss`` above the resident size at the start, which is a lower
    bound after a larger block (it cannot be reset).
    """

    def __init__(self, device: str):
        self.device = device
        self.peak_bytes: Optional[int] = None

    @staticmethod
    def _can_reset() -> bool:
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            return True
        except OSError:
            return False

    @classmethod
    def describe(cls, device: str, isolated: bool = True) -> str:
        """How the peak is measured, for the table."""
        if device == 'cuda':
            return 'torch.cuda.max_memory_allocated'
        if platform.system() == 'Linux' and osp.exists('/proc/self/status') \
                and cls._can_reset():
            how = 'peak RSS (VmHWM, reset per config) - RSS before the build'
        else:
            how = 'ru_maxrss - RSS before the build (not resettable)'
        if isolated:
            return how + ', one fresh process per config'
        return how + (', all configs in one process (the allocator reuses '
                      'memory freed by earlier configs: a lower bound)')

    def __enter__(self):
        import torch
        gc.collect()
        if self.device == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        else:
            self.resettable = self._can_reset()
            # without /proc (not Linux) ru_maxrss is all there is
            self.base = _proc_status('VmRSS') \
                if osp.exists('/proc/self/status') else 0
        return self

    def __exit__(self, *exc):
        import torch
        if self.device == 'cuda':
            torch.cuda.synchronize()
            self.peak_bytes = torch.cuda.max_memory_allocated()
        elif self.resettable:
            self.peak_bytes = max(_proc_status('VmHWM') - self.base, 0)
        else:
            # ru_maxrss is in KiB on Linux
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            self.peak_bytes = max(peak - self.base, 0)
        return False


# ---------------------------------------------------------------- configs
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


# ---------------------------------------------------------------- planner
@dataclass
class Measurement:
    """Timed training steps of one built config.

    Attributes:
        seconds (dict): phase -> seconds per step (median of the timed).
        peak_mb (float): Peak memory, MiB (see :class:`PeakMemory`).
        input_shape (str): The batch the model sees (after its data
            preprocessor), e.g. ``16x3x32x32``.
    """
    seconds: Dict[str, float]
    peak_mb: float
    input_shape: str

    def to_dict(self) -> dict:
        return dict(vars(self))

    @classmethod
    def from_dict(cls, data: dict) -> 'Measurement':
        return cls(**data)

    def seconds_per_iter(self, phases: Dict[str, int]) -> float:
        """Seconds per step, weighted by the schedule's phases."""
        total = sum(phases.values())
        return sum(self.seconds[p] * n for p, n in phases.items()) / total

    @property
    def unmodulated_seconds(self) -> float:
        """A plain W-step (what a fine-tune costs)."""
        for phase in ('warmup', 'tnet', 'batch', 'phi'):
            if phase in self.seconds:
                return self.seconds[phase]
        raise KeyError('no phase measured')


def alternation_hook_of(cfg):
    """The config's :class:`AlternationHook` (None without one), built from
    its ``custom_hooks`` entry as the runner builds it."""
    from astro_mm.engine.hooks.alternation_hook import AlternationHook
    for hook in cfg.get('custom_hooks') or []:
        if _type_name(hook) == 'AlternationHook':
            return AlternationHook(**{k: v for k, v in hook.items()
                                      if k not in ('type', 'priority')})
    return None


def warmup_rounds_of(cfg) -> Optional[int]:
    """R_TN of an ``AlternatingAlgorithm`` config (None: another model)."""
    from astro_mm.models.algorithms.alternating import AlternatingAlgorithm
    if _type_name(cfg.model) != 'AlternatingAlgorithm':
        return None
    default = inspect.signature(AlternatingAlgorithm).parameters[
        'warmup_rounds'].default
    return int(cfg.model.get('warmup_rounds', default))


def _shape_of(inputs) -> str:
    if hasattr(inputs, 'shape'):
        return 'x'.join(str(s) for s in inputs.shape)
    views = [_shape_of(view) for view in inputs]
    return f'{len(views)} views of ' + views[0] if views else '?'


class CostPlanner:
    """Plans a suite: measures each run's training step, projects the
    schedule, and writes the table.

    Args:
        runner (SuiteRunner): The suite's runner (its parsed suite config,
            its layout of runs, the backbone a detector run takes).
        iters (int): Timed steps per phase (default 3).
        warmup (int): Untimed steps before them, per phase (default 1).
        batch_size (int, optional): Smoke-test mode: this batch instead of
            the config's (the hours are then not a projection).
        image_size (int, optional): Smoke-test mode: square images of this
            size, the pipeline's resizes and crops dropped.
        isolate (bool): Measure each config in a fresh process (default):
            its peak memory is its own, and no global state of mmengine
            (scopes, loggers) or of the allocator carries over. False: all
            in this process (faster; CPU memory is then a lower bound).
        cache (dict, optional): Parsed configs and measurements, shared
            between planners (a config is parsed once; runs of the same
            config and options are measured once).
        log (callable): Progress printer.
    """

    def __init__(self, runner, iters: int = 3, warmup: int = 1,
                 batch_size: Optional[int] = None,
                 image_size: Optional[int] = None,
                 isolate: bool = True,
                 cache: Optional[dict] = None,
                 log: Callable[[str], None] = print):
        import torch
        if iters < 1 or warmup < 0:
            raise ValueError(f'need iters >= 1 and warmup >= 0, got {iters} '
                             f'and {warmup}')
        self.runner = runner
        self.iters = iters
        self.warmup = warmup
        self.batch_size = batch_size
        self.image_size = image_size
        self.isolate = isolate
        self.cache = {} if cache is None else cache
        self.log = log
        self.device = 'cuda' if torch.cuda.is_available() else 'cpu'

    # ---------------------------------------------------------- devices
    @property
    def smoke_test(self) -> bool:
        return self.batch_size is not None or self.image_size is not None

    def device_description(self) -> str:
        import torch
        if self.device == 'cuda':
            return (f'GPU: {torch.cuda.get_device_name(0)} (one device, '
                    f'torch {torch.__version__})')
        return (f'CPU: {platform.processor() or platform.machine()}, '
                f'{torch.get_num_threads()} torch threads '
                f'(torch {torch.__version__})')

    # ---------------------------------------------------------- configs
    def run_config(self, run, seed: int):
        """The config a run trains with (its options, the seed; for a
        detector the backbone the suite swaps in), and notes on what the
        plan assumed."""
        from mmengine.config import ConfigDict
        parsed = ('config', run.config)
        if parsed not in self.cache:
            self.cache[parsed] = parse_config(
                osp.join(self.runner.root, run.config))
        cfg = copy.deepcopy(self.cache[parsed])
        cfg.merge_from_dict(_parse_options(
            self.runner.unit_options(run, seed)))
        notes = []
        backbone = cfg.model.get('backbone', {})
        if run.task == 'det' and _type_name(backbone) in PRUNED_BACKBONES:
            widths = self._pruned_widths(run, seed)
            if widths is None:
                # the widths exist once the backbone run is pruned; the
                # unpruned network bounds the cost from above
                cfg.model.backbone = ConfigDict(copy.deepcopy(backbone.base))
                notes.append('pruned backbone costed at its unpruned widths '
                             '(an upper bound: its run is not pruned yet)')
            else:
                cfg.model.backbone.widths = widths
                notes.append(f'pruned widths of {widths}')
        return cfg, notes

    def _pruned_widths(self, run, seed: int) -> Optional[str]:
        source = run.backbone.partition(':')[0]
        seeds = self.runner.runs[source].seeds
        if not self.runner.is_done(source,
                                   seed if seed in seeds else seeds[0]):
            return None
        return self.runner.backbone_checkpoint(run.backbone, seed)[1]

    def schedule(self, cfg, config_path: str
                 ) -> Tuple[Schedule, Dict[str, int]]:
        """A run's full schedule and the steps of each phase in it (one
        phase, ``warmup``, for a model that does not alternate)."""
        schedule = schedule_of(cfg, config_path)
        warmup_rounds = warmup_rounds_of(cfg)
        if warmup_rounds is None:
            return schedule, {'warmup': schedule.iters}
        return schedule, phase_iterations(schedule, alternation_hook_of(cfg),
                                          warmup_rounds)

    # -------------------------------------------------------- measuring
    def measurement_key(self, run, cfg) -> tuple:
        """What a measurement depends on: runs with equal keys share one."""
        widths = cfg.model.get('backbone', {}).get('widths')
        return (run.config, tuple(run.cfg_options), str(widths),
                self.batch_size, self.image_size, self.iters, self.warmup)

    def measure(self, run, cfg=None) -> Measurement:
        """Build the run's runner and time each phase of its schedule
        (cached by :meth:`measurement_key`).

        Args:
            run (dict): A run of the suite.
            cfg (Config, optional): Its :meth:`run_config`, if at hand.
        """
        if cfg is None:
            cfg, _ = self.run_config(run, run.seeds[0])
        key = self.measurement_key(run, cfg)
        if key not in self.cache:
            _, phases = self.schedule(cfg, run.config)
            self.cache[key] = self._measure_in_subprocess(run) \
                if self.isolate else self._measure(cfg, run.config, phases)
        return self.cache[key]

    def _measure_in_subprocess(self, run) -> Measurement:
        """:meth:`measure` of one run in a fresh Python process."""
        args = [sys.executable, '-m', 'astro_mm.suite.planner',
                self.runner.cfg.filename, run.name, '--root',
                self.runner.root, '--work-dir', self.runner.work_dir,
                '--iters', str(self.iters), '--warmup', str(self.warmup)]
        if self.batch_size is not None:
            args += ['--batch-size', str(self.batch_size)]
        if self.image_size is not None:
            args += ['--image-size', str(self.image_size)]
        proc = subprocess.run(args, cwd=os.getcwd(), capture_output=True,
                              text=True)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines or \
                not lines[-1].startswith(_RESULT_MARK):
            tail = '\n'.join((proc.stdout + proc.stderr).splitlines()[-25:])
            raise PlanError(f'measuring run {run.name} ({run.config}) failed '
                            f'(exit {proc.returncode}):\n{tail}')
        return Measurement.from_dict(
            json.loads(lines[-1][len(_RESULT_MARK):]))

    def _measure(self, cfg, config_path: str, phases: Dict[str, int]
                 ) -> Measurement:
        """Build the runner of ``cfg`` as tools/train.py does and time
        each of ``phases``."""
        import torch
        from mmengine.model import is_model_wrapper

        from astro_mm.apis import build_runner
        from astro_mm.engine.hooks.alternation_hook import AlternationHook
        facts, _ = dataset_facts(cfg.train_dataloader.dataset)
        batch_size = self.batch_size or int(cfg.train_dataloader.batch_size)
        warmup_rounds = warmup_rounds_of(cfg)
        cfg = copy.deepcopy(cfg)
        cfg.train_dataloader.batch_size = batch_size
        if self.image_size is not None:
            _pad_small_swin_maps(cfg.model)
        cfg.launcher = 'none'
        cfg.log_level = 'WARNING'
        cfg.load_from = None
        cfg.resume = False
        # mmengine keeps loggers and visualizers per name for the process:
        # a name of its own gives this runner its own, writing into its own
        # (temporary) work dir
        cfg.experiment_name = f'plan_{os.getpid()}_{next(_RUNNER_NAMES)}'
        if cfg.get('visualizer') is not None:
            cfg.visualizer.name = cfg.experiment_name
        with tempfile.TemporaryDirectory(prefix='astro_mm_plan_') as tmp, \
                PeakMemory(self.device) as memory:
            cfg.work_dir = tmp
            runner = build_runner(cfg)
            model = runner.model
            algorithm = model.module if is_model_wrapper(model) else model
            if hasattr(algorithm, 'set_round') != (warmup_rounds is not None):
                raise PlanError(
                    f'{config_path}: the built model '
                    f'{type(algorithm).__name__} and the config\'s model '
                    f'type {cfg.model.get("type")} disagree')
            hook = next((h for h in runner.hooks
                         if isinstance(h, AlternationHook)), None)
            expected = alternation_hook_of(cfg)
            if (hook and (hook.round_unit, hook.round_interval)) != \
                    (expected and (expected.round_unit,
                                   expected.round_interval)):
                raise PlanError(
                    f'{config_path}: the runner\'s AlternationHook differs '
                    'from the config\'s custom_hooks')
            optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
            optim_wrapper.initialize_count_status(
                model, 0, sum(phases.values()))
            batches = SyntheticBatches(cfg, facts, batch_size,
                                       self.image_size, seed=0)
            data = [batches() for _ in range(min(self.iters + self.warmup,
                                                 4))]
            with torch.no_grad():
                seen = model.data_preprocessor(copy.deepcopy(data[0]), True)
            input_shape = _shape_of(seen['inputs'])
            model.train()
            seconds = {}
            for phase in phases:
                if warmup_rounds is not None:
                    algorithm.set_round(
                        first_round_of(phase, warmup_rounds),
                        per_batch=phase == 'batch')
                seconds[phase] = self._time_steps(runner, optim_wrapper, data)
            self._close_log_files(runner)
            del runner, model, algorithm, optim_wrapper
        return Measurement(seconds, memory.peak_bytes / 2**20, input_shape)

    def _time_steps(self, runner, optim_wrapper, data: List[dict]) -> float:
        """Seconds per ``train_step`` after ``warmup`` untimed ones: the
        median of the timed steps (a step that another process slowed down
        does not move it)."""
        import torch
        sync = torch.cuda.synchronize if self.device == 'cuda' else \
            (lambda: None)
        times = []
        for i in range(self.warmup + self.iters):
            # what the train loop tells the model (BoxInst's warm-up reads
            # the iteration from the message hub)
            runner.message_hub.update_info('iter', i)
            sync()
            start = time.perf_counter()
            runner.model.train_step(copy.copy(data[i % len(data)]),
                                    optim_wrapper)
            sync()
            if i >= self.warmup:
                times.append(time.perf_counter() - start)
        return float(np.median(times))

    @staticmethod
    def _close_log_files(runner) -> None:
        """The runner's log file lives in a temporary work dir."""
        import logging
        for handler in list(runner.logger.handlers):
            if isinstance(handler, logging.FileHandler):
                handler.close()
                runner.logger.removeHandler(handler)

    # ---------------------------------------------------------- the plan
    def finetune_iters(self, run, schedule: Schedule) -> int:
        """Steps per device of the suite's fine-tunes of a run (after each
        prune, and of the unpruned network when it asks for one)."""
        spec = self.runner.cfg.suite.get('finetune')
        if run.task != 'cls' or not spec or schedule.epochs is None:
            return 0
        count = len(run.prune) + int(bool(run.get('finetune_unpruned')))
        epochs = spec.get('epochs')
        if epochs is None:
            epochs = max(1, round(spec['share'] * schedule.epochs))
        return count * epochs * schedule.iters_per_epoch

    def plan_run(self, run) -> dict:
        """One row: the run's measured speed and its projected cost."""
        cfg, notes = self.run_config(run, run.seeds[0])
        schedule, phases = self.schedule(cfg, run.config)
        m = self.measure(run, cfg)
        missing = sorted(set(phases) - set(m.seconds))
        if missing:
            raise PlanError(f'run {run.name}: phases {missing} of its '
                            'schedule were not measured')
        seconds = m.seconds_per_iter(phases)
        steps = schedule.iters * schedule.devices
        finetune = self.finetune_iters(run, schedule)
        hours = (steps * seconds +
                 finetune * schedule.devices * m.unmodulated_seconds) / 3600
        return dict(
            run=run.name, label=run.label, method=run.method, task=run.task,
            config=run.config, cfg_options=list(run.cfg_options),
            input_shape=m.input_shape, batch_size=schedule.batch_size,
            devices=schedule.devices, devices_from=schedule.devices_from,
            schedule=schedule.describe(), epochs=schedule.epochs,
            iters_per_epoch=schedule.iters_per_epoch,
            dataset_images=schedule.dataset_images,
            iters_per_device=schedule.iters,
            finetune_iters_per_device=finetune, phase_iters=phases,
            phase_seconds={p: m.seconds[p] for p in phases},
            seconds_per_iter=seconds, it_per_s=1.0 / seconds,
            peak_memory_mb=round(m.peak_mb, 1),
            device_hours_per_seed=hours, seeds=len(run.seeds),
            device_hours=hours * len(run.seeds),
            paper_gpu_days=run.paper.get(PAPER_DAYS_KEY), notes=notes)

    def plan(self) -> dict:
        """Every run of the suite, the total, and what was measured how."""
        import torch
        runs = self.runner.cfg.runs
        rows = []
        for index, run in enumerate(runs):
            self.log(f'[{index + 1}/{len(runs)}] {run.name}: {run.config}')
            start = time.time()
            rows.append(self.plan_run(run))
            self.log(f'  {rows[-1]["it_per_s"]:.3g} it/s, '
                     f'{rows[-1]["device_hours"]:.3g} device-h '
                     f'({time.time() - start:.0f} s)')
        return dict(
            suite=self.runner.cfg.suite.name,
            title=self.runner.cfg.suite.title,
            device=self.device, device_description=self.device_description(),
            torch=torch.__version__, timed_iters=self.iters,
            warmup_iters=self.warmup,
            memory_method=PeakMemory.describe(self.device, self.isolate),
            load_average=[round(x, 2) for x in os.getloadavg()],
            smoke_test=dict(batch_size=self.batch_size,
                            image_size=self.image_size)
            if self.smoke_test else None,
            rows=rows,
            total_device_hours=sum(r['device_hours'] for r in rows),
            created=time.strftime('%Y-%m-%d %H:%M:%S %Z'))


# ---------------------------------------------------------------- output
def _hours(value: float) -> str:
    if value >= 100:
        return f'{value:,.0f}'
    return f'{value:.3g}'


def _steps(row: dict) -> str:
    total = sum(row['phase_iters'].values())
    return '; '.join(
        f'{PHASE_LABELS[p]} {100 * n / total:.0f} % '
        f'{row["phase_seconds"][p]:.3g} s'
        for p, n in row['phase_iters'].items())


def plan_to_markdown(plan: dict) -> str:
    """The plan as a markdown table, the papers' times beside it."""
    cpu = plan['device'] == 'cpu'
    unit = 'CPU-h' if cpu else 'GPU-h'
    load = ', '.join(f'{x:g}' for x in plan['load_average'])
    lines = [f'# Cost plan: {plan["title"]}', '',
             f'Device: **{plan["device_description"]}**; load average '
             f'(1, 5, 15 min) at the end: {load}.']
    if cpu:
        lines.append('**A CPU projection**: the figures are for this CPU; '
                     'the GPU figure needs a GPU run of the same command '
                     '(the planner uses CUDA when torch sees it).')
    if plan['smoke_test']:
        lines.append(f'**Smoke test** (shapes overridden: '
                     f'{plan["smoke_test"]}): the hours are not a '
                     'projection.')
    lines += [
        '',
        f'Each phase of a run timed over {plan["timed_iters"]} training '
        f'steps after {plan["warmup_iters"]} untimed, on synthetic inputs '
        'of the config\'s shapes (its own pipeline); the run\'s speed is '
        'the phases weighted by their share of the schedule (W: weights '
        'alone, Phi: a Phi-step, W(P): weights under cached P, Phi+W: both '
        'per batch). Device-hours = iterations per device x devices / '
        f'(it/s) / 3600 per seed (+ the suite\'s fine-tunes); training '
        'steps only: data loading, validation, testing and pruning are not '
        f'counted. Peak memory: {plan["memory_method"]}.', '',
        f'| run | input / step | devices x batch | schedule | iterations / '
        f'device | steps (share, s/it) | it/s | peak mem (MiB) | {unit} / '
        f'seed | seeds | {unit} |',
        '| --- | --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: '
        '| ---: |']
    for r in plan['rows']:
        iters = f'{r["iters_per_device"]:,}'
        if r['finetune_iters_per_device']:
            iters += f' + {r["finetune_iters_per_device"]:,} fine-tune'
        lines.append(
            f'| {r["run"]} | {r["input_shape"]} | {r["devices"]} x '
            f'{r["batch_size"]} | {r["schedule"]} | {iters} | {_steps(r)} | '
            f'{r["it_per_s"]:.3g} | {r["peak_memory_mb"]:,.0f} | '
            f'{_hours(r["device_hours_per_seed"])} | {r["seeds"]} | '
            f'{_hours(r["device_hours"])} |')
    lines.append(f'| **total** | | | | | | | | | '
                 f'{sum(r["seeds"] for r in plan["rows"])} | '
                 f'**{_hours(plan["total_device_hours"])}** |')
    notes = sorted({f'{r["run"]}: {n}' for r in plan['rows']
                    for n in r['notes']})
    if notes:
        lines += [''] + [f'- {n}' for n in notes]
    paper = [r for r in plan['rows'] if r['paper_gpu_days'] is not None]
    if paper:
        kind = 'CPU' if cpu else 'GPU'
        lines += [
            '', '## Beside the papers (one training run)', '',
            f'| run | paper: GPU days | planner: {kind} days | planner / '
            'paper |', '| --- | ---: | ---: | ---: |']
        for r in paper:
            days = r['device_hours_per_seed'] / 24
            lines.append(f'| {r["run"]} | {r["paper_gpu_days"]:g} | '
                         f'{days:.3g} | {days / r["paper_gpu_days"]:.3g} |')
        if cpu:
            lines.append('')
            lines.append('The planner\'s days are CPU days of this machine, '
                         'the paper\'s GPU days of the authors\' GPUs: the '
                         'ratio is not a reproduction of their time.')
    return '\n'.join(lines) + '\n'


def _measure_one(argv=None) -> None:
    """Measure one run of a suite and print it (the subprocess of
    :meth:`CostPlanner._measure_in_subprocess`)."""
    import argparse

    from astro_mm.compat import apply_patches
    apply_patches()  # as astro_mm's tools run
    from .runner import SuiteRunner
    from .config import load_suite
    parser = argparse.ArgumentParser(description=_measure_one.__doc__)
    parser.add_argument('suite')
    parser.add_argument('run')
    parser.add_argument('--root', default='.')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--image-size', type=int)
    args = parser.parse_args(argv)
    cfg = load_suite(args.suite, root=args.root)
    runner = SuiteRunner(cfg, args.work_dir, args.root, log=lambda m: None)
    if args.run not in runner.runs:
        raise PlanError(f'{args.suite}: no run named {args.run!r}')
    planner = CostPlanner(runner, args.iters, args.warmup, args.batch_size,
                          args.image_size, isolate=False)
    measurement = planner.measure(runner.runs[args.run])
    print(_RESULT_MARK + json.dumps(measurement.to_dict()), flush=True)


if __name__ == '__main__':
    _measure_one()
