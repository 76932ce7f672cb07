"""Records the P of every modulated unit during training, for the figures."""
import io
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from astro_mm.compat import atomic_write_bytes
from astro_mm.registry import HOOKS

STEP_KEY = 'step'
ROUND_KEY = 'round'
PROBS_PREFIX = 'p/'


def load_probability_history(path: str) -> Dict[str, np.ndarray]:
    """Read a history written by :class:`ProbabilityHistoryHook`.

    Returns:
        dict: ``'step'`` (N,) training iterations (1-based, as mmengine's
        logs), ``'round'`` (N,) the round of Algorithm 1, and one ``(N,
        units)`` array of P per stage, keyed ``'p/<stage>'`` in the order of
        the backbone.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not such a history.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'P history {path!r} does not exist (written '
                                'by astro_mm.ProbabilityHistoryHook)')
    with np.load(path, allow_pickle=False) as npz:
        history = {key: npz[key] for key in npz.files}
    stages = [k for k in history if k.startswith(PROBS_PREFIX)]
    if STEP_KEY not in history or ROUND_KEY not in history or not stages:
        raise ValueError(
            f'{path!r} is not a P history: expected the arrays {STEP_KEY!r}, '
            f'{ROUND_KEY!r} and {PROBS_PREFIX}<stage>, found '
            f'{sorted(history)}')
    num = len(history[STEP_KEY])
    bad = [k for k in stages if history[k].ndim != 2 or len(history[k]) != num]
    if bad:
        raise ValueError(f'{path!r}: the P arrays {bad} do not hold one row '
                         f'per recorded step ({num} steps)')
    return history


@HOOKS.register_module()
class ProbabilityHistoryHook(Hook):
    """Append the current P of every modulated layer to ``WORK_DIR/<file>``.

    Every ``interval`` training iterations, and after the last one, the P the
    TNet runs with (:meth:`astro_mm.AlternatingAlgorithm.current_probs`) is
    recorded, the layers of one stage (``ModulatedLayer.group``, e.g.
    ``layer1``) concatenated into one row. Warm-up rounds have no P (the
    plain network) and are skipped.

    The file is a ``.npz`` (see :func:`load_probability_history`), rewritten
    atomically at every record, so an interrupted run leaves the history up
    to its last record. A resumed run first drops the records made after the
    checkpoint it resumes from (that part of training is redone), then
    appends; a fresh run in the same work dir starts a new history.

    Cost: in W-rounds P is the cached tensor, so no modulator runs; in
    Phi-rounds the modulator runs once without gradients, in eval mode so
    that MA-Net's carried state (written by forward passes in training mode)
    is not touched and training is the same with or without this hook.

    Args:
        interval (int): Record every ``interval`` iterations.
        filename (str): File name inside the work dir (``.npz``).
    """
    priority = 'LOW'

    needs_alternating_algorithm = True

    def __init__(self, interval: int = 100, filename: str = 'p_history.npz'):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if not filename.endswith('.npz'):
            raise ValueError(f'filename must end with .npz, got {filename!r}')
        self.interval = interval
        self.filename = filename
        self.path: Optional[str] = None
        self._steps: List[int] = []
        self._rounds: List[int] = []
        self._probs: Dict[str, List[np.ndarray]] = {}

    @staticmethod
    def _algorithm(runner):
        model = runner.model
        model = model.module if is_model_wrapper(model) else model
        if not hasattr(model, 'current_probs') or not hasattr(model, 'layers'):
            raise TypeError(
                'ProbabilityHistoryHook needs astro_mm.AlternatingAlgorithm '
                f'(current_probs() and layers), got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        self._algorithm(runner)
        self.path = osp.join(runner.work_dir, self.filename)
        self._steps, self._rounds, self._probs = [], [], {}
        if runner.iter == 0 or not osp.isfile(self.path):
            return
        # resumed at runner.iter: keep what happened up to the checkpoint
        history = load_probability_history(self.path)
        keep = history[STEP_KEY] <= runner.iter
        self._steps = history[STEP_KEY][keep].tolist()
        self._rounds = history[ROUND_KEY][keep].tolist()
        for key, rows in history.items():
            if key.startswith(PROBS_PREFIX):
                self._probs[key[len(PROBS_PREFIX):]] = list(rows[keep])
        runner.logger.info(f'P history: resumed at iteration {runner.iter}, '
                           f'{len(self._steps)} records kept in {self.path}')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner)):
            self._record(runner)

    def _record(self, runner) -> None:
        step = runner.iter + 1
        if self._steps and self._steps[-1] == step:
            return
        algorithm = self._algorithm(runner)
        modulator = algorithm.modulator
        was_training = modulator.training
        modulator.eval()
        try:
            probs = algorithm.current_probs()
        finally:
            modulator.train(was_training)
        if probs is None:  # warm-up: the plain network
            return
        stages: Dict[str, List[np.ndarray]] = {}
        for layer, p in zip(algorithm.layers, probs):
            stages.setdefault(layer.group, []).append(
                p.detach().float().cpu().numpy())
        if self._probs and list(self._probs) != list(stages):
            raise RuntimeError(
                f'the model\'s stages {list(stages)} differ from those in '
                f'{self.path}: {list(self._probs)}')
        for stage, rows in stages.items():
            # np.concatenate copies: the cached P is updated in place later
            self._probs.setdefault(stage, []).append(np.concatenate(rows))
        self._steps.append(step)
        self._rounds.append(int(algorithm.round))
        if is_main_process():
            self._save()

    def _save(self) -> None:
        arrays = {
            STEP_KEY: np.asarray(self._steps, dtype=np.int64),
            ROUND_KEY: np.asarray(self._rounds, dtype=np.int64),
        }
        for stage, rows in self._probs.items():
            arrays[PROBS_PREFIX + stage] = np.stack(rows).astype(np.float32)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(buffer.getvalue(), self.path)
