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

The package, by job: :mod:`.facts` (what a unit is, read from its config),
:mod:`.schedule` (its steps and their phases), :mod:`.synthetic` (inputs of
its shapes), :mod:`.measurement` (timing and peak memory),
:mod:`.cost_planner` (the plan) and :mod:`.report` (the table).

Not counted: data loading (dataloader workers overlap with the step),
validation during training, testing, pruning. A suite's fine-tune (after
pruning) is counted at the unmodulated W-step's speed of the unpruned
network (an upper bound: the pruned network is smaller).
"""
from .cost_planner import PAPER_DAYS_KEY, CostPlanner
from .facts import (CIFAR10, CIFAR100, COCO_TRAIN2017, FASHION_MNIST,
                    IMAGENET, MNIST, DatasetFacts,
                    PlanError, alternation_hook_of, dataset_facts,
                    parse_config, warmup_rounds_of)
from .measurement import Measurement, PeakMemory, StepTiming
from .report import plan_to_markdown
from .schedule import (PHASE_LABELS, PHASE_ORDER, Schedule, first_round_of,
                       phase_iterations, schedule_of)
from .synthetic import SyntheticBatches, without_geometry

__all__ = [
    'CostPlanner', 'PlanError', 'Schedule', 'schedule_of',
    'phase_iterations', 'first_round_of', 'dataset_facts', 'DatasetFacts',
    'without_geometry', 'SyntheticBatches', 'Measurement', 'PeakMemory',
    'StepTiming', 'plan_to_markdown', 'parse_config', 'alternation_hook_of',
    'warmup_rounds_of', 'PHASE_LABELS', 'PHASE_ORDER',
    'PAPER_DAYS_KEY', 'CIFAR10', 'CIFAR100', 'COCO_TRAIN2017',
    'FASHION_MNIST', 'IMAGENET', 'MNIST'
]
