"""The round schedule of Algorithm 1 (astro_mm.engine.round_schedule): the
rounds AlternationHook sets step by step are the ones the planner walks."""
from types import SimpleNamespace

import pytest

from astro_mm.engine import AlternationHook
from astro_mm.engine.round_schedule import rounds_over


def _hook_rounds(hook, iters, epochs=None, iters_per_epoch=None):
    """The round the hook sets before each step of a training run."""
    rounds = []
    for iteration in range(iters):
        epoch = iteration // iters_per_epoch if epochs is not None else 0
        runner = SimpleNamespace(epoch=epoch, iter=iteration)
        rounds.append(hook.round_of(runner))
    return rounds


def _walked_rounds(hook, iters, epochs=None, iters_per_epoch=None):
    rounds = []
    for round_index, steps in rounds_over(hook.round_unit,
                                          hook.round_interval, iters,
                                          epochs, iters_per_epoch):
        rounds += [round_index] * steps
    return rounds


@pytest.mark.parametrize('unit,interval,iters,epochs,per_epoch', [
    ('epoch', 1, 60, 6, 10), ('epoch', 4, 70, 7, 10),
    ('epoch', 2, 50, None, None), ('iter', 7, 50, 5, 10),
    ('iter', 100, 1050, None, None), ('batch', 3, 40, 4, 10)])
def test_planner_walks_the_rounds_the_hook_sets(unit, interval, iters,
                                                epochs, per_epoch):
    hook = AlternationHook(round_unit=unit, round_interval=interval)
    assert _walked_rounds(hook, iters, epochs, per_epoch) == \
        _hook_rounds(hook, iters, epochs, per_epoch)
