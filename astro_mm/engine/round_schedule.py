"""Which round of Algorithm 1 a training step is in.

The one definition of the round schedule: :class:`~astro_mm.engine.
AlternationHook` sets the round from it before every training step, and
the cost planner (:mod:`astro_mm.suite.planner`) walks it over a whole
schedule to weigh the phases; neither derives the rounds itself.

Round r (1-based) is ``count // round_interval + 1``, where the count is
the runner's epoch for ``round_unit='epoch'`` and its iteration for
``'iter'`` and ``'batch'``. With ``'batch'`` (the authors' code) every step
after the warm-up is a Phi-step then a W-step on the same batch; its rounds
only count the warm-up. The phase a round is in is the algorithm's
(:meth:`astro_mm.models.AlternatingAlgorithm.phase_of`).

Pure Python: no torch, no mmengine.
"""
from typing import Iterator, Optional, Tuple

ROUND_UNITS = ('epoch', 'iter', 'batch')


def round_at(round_unit: str, round_interval: int, epoch: int,
             iteration: int) -> int:
    """The round (1-based) of the step at ``epoch`` / ``iteration``.

    Args:
        round_unit (str): ``'epoch'``, ``'iter'`` or ``'batch'``.
        round_interval (int): Epochs / iterations per round.
        epoch (int): The runner's epoch (0-based; an iteration-based loop
            never advances it).
        iteration (int): The runner's iteration (0-based, over the whole
            training).
    """
    count = epoch if round_unit == 'epoch' else iteration
    return count // round_interval + 1


def alternates_per_batch(round_unit: str) -> bool:
    """Whether every step after the warm-up is a Phi-step and a W-step
    (``round_unit='batch'``)."""
    return round_unit == 'batch'


def rounds_over(round_unit: str, round_interval: int, iters: int,
                epochs: Optional[int] = None,
                iters_per_epoch: Optional[int] = None
                ) -> Iterator[Tuple[int, int]]:
    """The rounds a whole training schedule goes through, in order.

    Args:
        round_unit (str): ``'epoch'``, ``'iter'`` or ``'batch'``.
        round_interval (int): Epochs / iterations per round.
        iters (int): Training steps of the schedule.
        epochs (int, optional): ``max_epochs`` of an epoch-based loop
            (None: an iteration-based loop, whose epoch stays 0).
        iters_per_epoch (int, optional): Steps per epoch (with ``epochs``).

    Yields:
        tuple[int, int]: (round, steps spent in it); a round may appear
        more than once in a row (once per epoch it spans).
    """
    if round_unit == 'epoch':
        if epochs is None:
            # the round is read from the runner's epoch, which an
            # iteration-based loop never advances
            yield round_at(round_unit, round_interval, 0, 0), iters
            return
        for epoch in range(epochs):
            yield (round_at(round_unit, round_interval, epoch,
                            epoch * iters_per_epoch), iters_per_epoch)
        return
    for start in range(0, iters, round_interval):
        yield (round_at(round_unit, round_interval, 0, start),
               min(round_interval, iters - start))
