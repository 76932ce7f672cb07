"""How long a unit trains: its schedule per device, and the steps of each
phase of Algorithm 1 in it.

The rounds come from :mod:`astro_mm.engine.round_schedule` (what
``AlternationHook`` sets while training) and a round's phase from
:meth:`~astro_mm.models.AlternatingAlgorithm.phase_of`: the planner walks
the same schedule, it does not derive its own.
"""
import math
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Optional

from astro_mm.engine.round_schedule import rounds_over
from ..launch import devices_of
from .facts import PlanError, dataset_facts, type_name
from astro_mm.models.algorithms.alternating import AlternatingAlgorithm

# The phases of Algorithm 1 as the table names them (AlternatingAlgorithm's
# PHASES), in the order a schedule reaches them.
PHASE_LABELS = dict(warmup='W', phi='Phi', tnet='W(P)', batch='Phi+W')
PHASE_ORDER = ('warmup', 'phi', 'tnet', 'batch')


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
        type_name(train_cfg) == 'IterBasedTrainLoop'
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


def _phase_of(round_index: int, warmup_rounds: int,
              per_batch: bool = False) -> str:
    """Algorithm 1's phase of a round (the algorithm's own rule)."""
    return AlternatingAlgorithm.phase_of(round_index, warmup_rounds,
                                         per_batch)


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
    counts: Counter = Counter()
    if hook is None:
        counts[_phase_of(1, warmup_rounds)] = schedule.iters
    else:
        per_batch = hook.alternation == 'per_batch'
        for round_index, steps in rounds_over(
                hook.round_unit, hook.round_interval, schedule.iters,
                schedule.epochs, schedule.iters_per_epoch):
            counts[_phase_of(round_index, warmup_rounds, per_batch)] += steps
    return {phase: counts[phase] for phase in PHASE_ORDER if counts[phase]}


def first_round_of(phase: str, warmup_rounds: int) -> int:
    """The first round (1-based) in ``phase`` (``batch``: the first round
    after the warm-up, with per-batch alternation): the first round that
    the algorithm's rule puts in it."""
    if phase == 'warmup':
        return 1
    per_batch = phase == 'batch'
    # the phase alternates after the warm-up: it is reached within 2 rounds
    for round_index in (warmup_rounds + 1, warmup_rounds + 2):
        if _phase_of(round_index, warmup_rounds, per_batch) == phase:
            return round_index
    raise ValueError(f'unknown phase {phase!r}')
