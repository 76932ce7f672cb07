"""Which round of Algorithm 1 a training step is in.

The one definition of the round schedule: :class:`~astro_mm.engine.
AlternationHook` sets the round from it before every training step, and
the cost planner (:mod:`astro_mm.suite.planner`) walks it over a whole
schedule to weigh the phases; neither derives the rounds itself.

Two settings, each with one meaning:

* ``round_unit`` (``'epoch'`` or ``'iter'``) and ``round_interval``: round r
  (1-based) is ``count // round_interval + 1``, the count being the
  runner's epoch or iteration;
* ``alternation``: ``'per_round'`` (the papers' Algorithm 1: whole W- and
  Phi-rounds alternate) or ``'per_batch'`` (the authors' code and the
  budget-aware mode: every step after the warm-up is a Phi-step then a
  W-step on the same batch, and rounds only count the warm-up).

The phase a round is in is the algorithm's
(:meth:`astro_mm.models.AlternatingAlgorithm.phase_of`). The former
``round_unit='batch'``, which meant both iterations and per-batch
alternation, is read as ``round_unit='iter', alternation='per_batch'``
(:func:`resolve_alternation`).

Pure Python: no torch, no mmengine.
"""
from typing import Iterator, Optional, Tuple

ROUND_UNITS = ('epoch', 'iter')
ALTERNATIONS = ('per_round', 'per_batch')
# the round unit that also switched the alternation, before ``alternation``
LEGACY_BATCH_UNIT = 'batch'


def resolve_alternation(round_unit: str, alternation: Optional[str]
                        ) -> Tuple[str, str]:
    """Check the settings; ``(round_unit, alternation)``.

    ``alternation=None`` is ``'per_round'``, except after the former
    ``round_unit='batch'``, which is read as ``('iter', 'per_batch')``.

    Raises:
        ValueError: An unknown value, or ``round_unit='batch'`` with an
            ``alternation`` other than ``'per_batch'``.
    """
    if round_unit == LEGACY_BATCH_UNIT:
        if alternation not in (None, 'per_batch'):
            raise ValueError(
                "round_unit='batch' is the former spelling of "
                "round_unit='iter', alternation='per_batch'; it cannot take "
                f'alternation={alternation!r}')
        return 'iter', 'per_batch'
    if round_unit not in ROUND_UNITS:
        raise ValueError(f'round_unit must be one of {ROUND_UNITS}, got '
                         f'{round_unit!r}')
    alternation = 'per_round' if alternation is None else alternation
    if alternation not in ALTERNATIONS:
        raise ValueError(f'alternation must be one of {ALTERNATIONS}, got '
                         f'{alternation!r}')
    return round_unit, alternation


def round_at(round_unit: str, round_interval: int, epoch: int,
             iteration: int) -> int:
    """The round (1-based) of the step at ``epoch`` / ``iteration``.

    Args:
        round_unit (str): ``'epoch'`` or ``'iter'``.
        round_interval (int): Epochs / iterations per round.
        epoch (int): The runner's epoch (0-based; an iteration-based loop
            never advances it).
        iteration (int): The runner's iteration (0-based, over the whole
            training).
    """
    count = epoch if round_unit == 'epoch' else iteration
    return count // round_interval + 1


def rounds_over(round_unit: str, round_interval: int, iters: int,
                epochs: Optional[int] = None,
                iters_per_epoch: Optional[int] = None
                ) -> Iterator[Tuple[int, int]]:
    """The rounds a whole training schedule goes through, in order.

    Args:
        round_unit (str): ``'epoch'`` or ``'iter'``.
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
