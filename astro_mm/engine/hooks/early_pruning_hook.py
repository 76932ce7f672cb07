"""Prune a plain network early in its own training: the ``prune-early``
control of the standard pruners."""
import contextlib
import random
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch.utils.data import DataLoader, RandomSampler

from astro_mm.families import resolve_family
from astro_mm.pruning.baselines import (MEASURES, RANKS,
                                               baseline_pruner, prune_baseline)
from astro_mm.pruning.kept_channels import DeadChannels
from astro_mm.registry import HOOKS

# what a checkpoint's meta must agree on for a resumed run to keep its
# channels (and the seed)
SETTINGS = ('iteration', 'method', 'budget', 'measure', 'rank', 'min_keep')


@contextlib.contextmanager
def _rng_untouched():
    """Run a block without moving the global RNGs (torch, CUDA, numpy,
    random): the prune traces with a random image and may read batches, and
    the training after it should draw what the plain row draws."""
    np_state, py_state = np.random.get_state(), random.getstate()
    devices = list(range(torch.cuda.device_count())) \
        if torch.cuda.is_available() else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


@HOOKS.register_module()
class EarlyPruningHook(Hook):
    """Prune a plain classifier with a standard pruner at iteration
    ``iteration`` of its own training, and train the rest of the schedule
    in the pruned shape.

    The control for the budget-aware astro rows, which reach their budget
    early and train the rest pruned: as a hook inside the plain network's
    own training, the data order, the lr schedule and everything up to the
    prune are the plain row's. After ``iteration`` optimizer steps (at the
    end of training iteration ``iteration``, counted from 1, so a
    checkpoint saved there has ``meta.iter == iteration``; ``0``: before
    the first step),
    :func:`~astro_mm.pruning.prune_baseline` ranks the channels of a
    copy of the model and chooses those to keep
    (``BaselinePruneResult.kept``); from then on the removed inner channels
    are held exactly dead in the live model
    (:class:`~astro_mm.pruning.kept_channels.DeadChannels`): the
    filters of each inner conv, their norm's weight and bias, the next
    conv's input columns, their gradients (a hook on each parameter, so
    gradient clipping sees the pruned network's) and the optimizer's
    momentum / moments are zeroed, and re-zeroed after every optimizer step
    (a no-op for SGD and Adam-like optimizers once gradients and state are
    zero; it makes the guarantee independent of the optimizer). The network
    then computes exactly what the physically pruned one would;
    ``tools/prune.py CONFIG CKPT --method early`` removes those channels
    afterwards (:func:`~astro_mm.pruning.prune_to_kept`) for the
    same fine-tune as every other row.

    Why zeroing and not a masking helper: ``torch.nn.utils.prune`` and
    ``torch.nn.utils.parametrize`` rename the parameters
    (``weight_orig`` + ``weight_mask``, ``parametrizations.weight.original``),
    so a checkpoint saved before the prune does not load into one saved
    after it (resume across the prune breaks), the pruned state dict no
    longer loads into the plain classifier, and the forward pre-hooks they
    add make Torch-Pruning refuse the model; Torch-Pruning itself only
    removes channels. Zeroing keeps the state dict the plain one's.

    The kept channels go into every checkpoint's meta
    (``meta['early_pruning']``: the settings, ``pruned_at``, ``kept`` as
    ``{block: [LongTensor, ...]}``, the inner ``widths``, the kept
    shares ``reached`` of params and FLOPs and the ranking rule
    ``ranked_by``), so a run
    resumed after the prune holds the same channels dead (its settings must
    match the checkpoint's) and a run resumed before it prunes on schedule.

    Args:
        iteration (int): Optimizer steps before the prune (>= 0).
        method (str): A baseline pruner
            (:data:`~astro_mm.pruning.BASELINE_PRUNERS`): ``random``,
            ``l1``, ``bn_scale``, ``taylor``, ``group_norm``, ``cost``.
        budget (float): Share of the backbone's ``measure`` to keep, in
            (0, 1].
        measure (str): ``'params'`` or ``'flops'``.
        rank (str, optional): ``'group'`` (importance normalized per group),
            ``'cost'`` (per unit of cost in ``measure``) or None (the
            method's own rule).
        seed (int, optional): Seed of ``random``; None: the runner's seed.
        input_size (int | Sequence[int]): Image size (H, W) the backbone is
            traced and its FLOPs counted at.
        num_batches (int): ``taylor``: batches whose loss gradients give
            the scores, drawn from the training set by a loader of its own
            (shuffled with ``seed``, no workers; the training's loader and
            the global RNGs are not touched).
        min_keep (float): Share of every layer's channels always kept.
    """
    priority = 'NORMAL'  # before the checkpoint hook (VERY_LOW) saves
    # tools/prune.py leaves it out of the pruned network's (fine-tune) config
    drop_from_pruned_config = True

    def __init__(self,
                 iteration: int,
                 method: str,
                 budget: float,
                 measure: str = 'params',
                 rank: Optional[str] = None,
                 seed: Optional[int] = None,
                 input_size: Union[int, Sequence[int]] = 32,
                 num_batches: int = 4,
                 min_keep: float = 0.):
        if not isinstance(iteration, int) or iteration < 0:
            raise ValueError(f'EarlyPruningHook: iteration must be an int '
                             f'>= 0, got {iteration!r}')
        baseline_pruner(method)  # KeyError naming the known pruners
        if not 0 < budget <= 1:
            raise ValueError(f'EarlyPruningHook: budget must be in (0, 1], '
                             f'got {budget!r}')
        if measure not in MEASURES:
            raise ValueError(f'EarlyPruningHook: measure must be one of '
                             f'{MEASURES}, got {measure!r}')
        if rank is not None and rank not in RANKS:
            raise ValueError(f'EarlyPruningHook: rank must be None or one '
                             f'of {RANKS}, got {rank!r}')
        self.iteration = iteration
        self.method = method
        self.budget = float(budget)
        self.measure = measure
        self.rank = rank
        self.seed = seed
        self.input_size = (input_size, input_size) if isinstance(
            input_size, int) else tuple(input_size)
        self.num_batches = num_batches
        self.min_keep = min_keep
        self.kept = None  # {block: [LongTensor, ...]} once pruned
        self.pruned_at: Optional[int] = None
        self.widths = None
        self.reached = None  # kept shares {'params': ..., 'flops': ...}
        self.ranked_by = None  # the rule rank=None resolved to
        self.dead: Optional[DeadChannels] = None
        self._loaded = None  # meta['early_pruning'] of a loaded checkpoint
        self._seed_used: Optional[int] = None

    # -- the prune ----------------------------------------------------------

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) \
            else runner.model

    @staticmethod
    def _optimizers(runner):
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(
            wrapper, OptimWrapperDict) else [wrapper]
        return [w.optimizer for w in wrappers]

    def _resolved_seed(self, runner) -> int:
        return int(self.seed if self.seed is not None else runner.seed)

    def settings(self, runner) -> dict:
        """What chooses the channels (:data:`SETTINGS` and the seed)."""
        settings = {key: getattr(self, key) for key in SETTINGS}
        settings['seed'] = self._seed_used if self._seed_used is not None \
            else self._resolved_seed(runner)
        return settings

    @staticmethod
    def _taylor_batches(runner, seed: int) -> DataLoader:
        """A second loader over the training set: the training's dataset,
        batch size and collate function, shuffled by its own generator,
        without workers (the training's loader, its sampler and its
        persistent workers, if any, are not touched)."""
        loader = runner.train_dataloader
        batch_size = loader.batch_size or getattr(
            loader.batch_sampler, 'batch_size', 1)
        return DataLoader(
            loader.dataset, batch_size=batch_size,
            sampler=RandomSampler(
                loader.dataset,
                generator=torch.Generator().manual_seed(seed)),
            collate_fn=loader.collate_fn, num_workers=0)

    def _prune(self, runner) -> None:
        model = self._model(runner)
        seed = self._resolved_seed(runner)
        with _rng_untouched():
            data = self._taylor_batches(runner, seed) \
                if baseline_pruner(self.method).needs_data else None
            result = prune_baseline(
                model, self.method, self.budget, data=data,
                num_batches=self.num_batches, seed=seed,
                min_keep=self.min_keep, input_size=self.input_size,
                measure=self.measure, rank=self.rank,
                plan=resolve_family(model.backbone, strict=True))
        self.kept = {block: [idxs.detach().clone().cpu() for idxs in slots]
                     for block, slots in result.kept.items()}
        self.widths = result.widths
        self.reached = dict(params=result.params_ratio,
                            flops=result.flops_ratio)
        self.pruned_at = self.iteration
        self.ranked_by = result.rank
        self._seed_used = seed
        self._hold(runner)
        runner.logger.info(
            f'EarlyPruningHook: {self.method} (rank {result.rank}) pruned at '
            f'iteration {self.pruned_at} to {self.budget:g} of the '
            f'{self.measure}: params kept {result.params_ratio:.4f}, FLOPs '
            f'kept {result.flops_ratio:.4f}; inner widths {result.widths}')

    def _hold(self, runner) -> None:
        with _rng_untouched():  # the trace draws an example image
            model = self._model(runner)
            self.dead = DeadChannels(
                model, self.kept, self.input_size,
                plan=resolve_family(model.backbone, strict=True))
        self.dead.hold_gradients()
        self.dead.zero_(self._optimizers(runner))

    # -- training -----------------------------------------------------------

    def before_train(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        done = runner.iter  # optimizer steps already taken
        if loaded is not None and loaded.get('kept') is not None:
            if done >= loaded['pruned_at'] and done > 0:
                mismatch = {key: (loaded.get(key), value)
                            for key, value in self.settings(runner).items()
                            if loaded.get(key) != value}
                if mismatch:
                    raise ValueError(
                        'EarlyPruningHook: the resumed checkpoint was pruned '
                        'with other settings (key: (checkpoint, config)): '
                        f'{mismatch}')
                self.kept = loaded['kept']
                self.widths = loaded.get('widths')
                self.reached = loaded.get('reached')
                self.ranked_by = loaded.get('ranked_by')
                self.pruned_at = loaded['pruned_at']
                self._seed_used = loaded['seed']
                self._hold(runner)
                runner.logger.info(
                    f'EarlyPruningHook: resumed at iteration {done} with the '
                    f'channels {self.method} kept at iteration '
                    f'{self.pruned_at}; inner widths {self.widths}')
                return
            runner.logger.warning(
                'EarlyPruningHook: the loaded checkpoint\'s dead channels '
                f'(pruned at iteration {loaded["pruned_at"]}) are not held: '
                f'training starts at iteration {done} and prunes at '
                f'{self.iteration}')
        if done > self.iteration or (done == self.iteration and done > 0):
            raise RuntimeError(
                f'EarlyPruningHook: training resumes at iteration {done}, '
                f'past the prune at {self.iteration}, from a checkpoint '
                'without meta.early_pruning.kept: the channels to hold dead '
                'are unknown (resume from a checkpoint this hook saved, or '
                'before the prune)')
        if self.iteration == 0:
            self._prune(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.dead is not None:
            self.dead.zero_(self._optimizers(runner))
        elif runner.iter + 1 == self.iteration:
            self._prune(runner)

    def after_train(self, runner) -> None:
        if self.dead is not None:
            self.dead.release()

    # -- checkpoints --------------------------------------------------------

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = self.settings(runner)
        meta.update(
            pruned_at=self.pruned_at, widths=self.widths,
            reached=self.reached, ranked_by=self.ranked_by,
            input_size=list(self.input_size), num_batches=self.num_batches,
            kept=None if self.kept is None else {
                block: [idxs.clone() for idxs in slots]
                for block, slots in self.kept.items()})
        checkpoint.setdefault('meta', {})['early_pruning'] = meta

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = (checkpoint.get('meta') or {}).get('early_pruning')
