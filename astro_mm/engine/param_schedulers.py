"""Learning-rate schedules whose steps follow the length of the run."""
from typing import Sequence

from mmengine.optim.scheduler import MultiStepLR
from mmengine.optim.scheduler.param_scheduler import INF

from ..registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class ProportionalMultiStepLR(MultiStepLR):
    """``MultiStepLR`` with its milestones given as fractions of its span.

    The demo detectors' AdamW configs differ in length only; with the step
    decay written as a fraction (``milestone_ratios=[0.8]``), one schedule
    serves all of them. ``end`` may be left out of the config: mmengine's
    runner sets it to the loop's ``max_iters`` (``max_epochs`` when
    ``by_epoch``), so a ``train_cfg.max_iters`` override moves the steps
    with it.

    Args:
        optimizer: Wrapped optimizer.
        milestone_ratios: Increasing fractions of ``end - begin``, each in
            (0, 1), at which the learning rate is multiplied by ``gamma``.
            Milestone ``i`` is ``int((end - begin) * milestone_ratios[i])``
            steps after ``begin``.
        begin: Step at which the schedule starts. Defaults to 0.
        end: Step at which it stops; must be finite.
        **kwargs: ``gamma``, ``by_epoch``, ``last_step``, ``verbose`` of
            :class:`mmengine.optim.MultiStepLR`.
    """

    def __init__(self,
                 optimizer,
                 milestone_ratios: Sequence[float],
                 begin: int = 0,
                 end: int = INF,
                 **kwargs):
        if end == INF:
            raise ValueError(
                'ProportionalMultiStepLR needs a finite `end` to place '
                f'milestone_ratios={list(milestone_ratios)}: set `end`, or '
                'build it through a runner with a training loop (which sets '
                'it to max_iters / max_epochs)')
        ratios = list(milestone_ratios)
        if not ratios or any(not 0 < r < 1 for r in ratios) or any(
                a >= b for a, b in zip(ratios, ratios[1:])):
            raise ValueError(
                'ProportionalMultiStepLR: milestone_ratios must be increasing '
                f'fractions in (0, 1), got {ratios}')
        milestones = [int((end - begin) * r) for r in ratios]
        super().__init__(
            optimizer, milestones=milestones, begin=begin, end=end, **kwargs)
