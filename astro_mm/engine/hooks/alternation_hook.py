"""Sets the round of Algorithm 1 before every training iteration."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from astro_mm.registry import HOOKS
from ..round_schedule import resolve_alternation, round_at


@HOOKS.register_module()
class AlternationHook(Hook):
    """Tell the algorithm which round of Algorithm 1 the next step is in.

    Round r (1-based) = epoch // interval + 1 for ``round_unit='epoch'`` (the
    paper: one round per epoch), iter // interval + 1 for ``'iter'`` (every
    N iterations with ``round_interval=N``). ``alternation='per_batch'`` is
    the authors' code (and the budget-aware mode's): after the warm-up
    rounds every batch gets a Phi-step and then a W-step; rounds then only
    count the warm-up and carry the MNet's state and weight history. The
    round is derived from the runner's counters, so a resumed run lands in
    the round it stopped in. The rounds are
    :mod:`astro_mm.engine.round_schedule`'s, which the cost planner projects
    over a schedule too.

    Args:
        round_unit (str): ``'epoch'`` or ``'iter'`` (the former ``'batch'``
            reads as ``'iter'`` with ``alternation='per_batch'``).
        round_interval (int): Epochs / iterations per round.
        alternation (str, optional): ``'per_round'`` (default) or
            ``'per_batch'``.
    """
    priority = 'ABOVE_NORMAL'
    needs_alternating_algorithm = True

    def __init__(self, round_unit: str = 'epoch', round_interval: int = 1,
                 alternation: Optional[str] = None):
        self.round_unit, self.alternation = resolve_alternation(
            round_unit, alternation)
        if round_interval < 1:
            raise ValueError(f'round_interval must be >= 1, got {round_interval}')
        self.round_interval = round_interval

    def round_of(self, runner) -> int:
        return round_at(self.round_unit, self.round_interval, runner.epoch,
                        runner.iter)

    def before_train(self, runner) -> None:
        model = self._algorithm(runner)
        if not hasattr(model, 'set_round'):
            raise TypeError(
                f'AlternationHook needs a model with set_round() such as '
                f'astro_mm.AlternatingAlgorithm, got {type(model).__name__}')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._algorithm(runner).set_round(
            self.round_of(runner),
            per_batch=self.alternation == 'per_batch')

    @staticmethod
    def _algorithm(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model
