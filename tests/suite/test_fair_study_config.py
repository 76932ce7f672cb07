"""The fair study's main-stage config names what the tuning stage's archive
chose on validation (benchmarks/fair_study_reading.py --select), shares the
tuning stage's units, and runs every row the issue lists at four budgets,
the verdict's budget first."""
import os.path as osp
import statistics

import pytest

from astro_mm.analysis.fair_study import (budget_reached_at, choose_settings,
                                          read_rows)
from astro_mm.suite import load_suite
from conftest import ROOT

MAIN = osp.join(ROOT, 'configs', 'suites',
                'fair-study_fashion-mnist-holdout5k.py')
TUNING = osp.join(ROOT, 'configs', 'suites',
                  'fair-study-tuning_fashion-mnist-holdout5k.py')
ARCHIVE = osp.join(ROOT, 'benchmarks', 'runs',
                   'fair-study_fashion-mnist-holdout5k')
PRUNERS = ('random', 'l1', 'bn_scale', 'taylor', 'group_norm')
ASTRO = ('astronet', 'manet', 'gates')


@pytest.fixture(scope='module')
def main():
    return load_suite(MAIN, ROOT)


@pytest.fixture(scope='module')
def choices():
    return {method: chosen for method, (chosen, _, _) in
            choose_settings(read_rows(ARCHIVE)).items()}


def test_the_choices_are_the_tuning_stages_on_validation(main, choices):
    named = main.CHOICES
    expected = {}
    for pruner in PRUNERS:
        expected[pruner] = f'plain/{pruner}_{named[pruner]}'
    reg, rank = named['slimming']
    expected['slimming'] = f'slimming_l1{reg}/bn_scale_{rank}'
    reg, rank = named['group_sparsity']
    expected['group_sparsity'] = f'group_sparsity_reg{reg}/group_norm_{rank}'
    for method in ASTRO:
        expected[method] = f'{method}_lr{named[method]}/gates'
    expected['cost'] = 'plain/cost_cost'  # one rule, nothing to choose
    # the main stage's prune-early rows: one setting, nothing to choose
    expected['prune_early'] = \
        f'prune_early_{main.PRUNE_EARLY["method"]}/early'
    assert choices == expected


def test_the_best_pruner_on_validation_is_the_prune_early_one(main):
    tries = choose_settings(read_rows(ARCHIVE))
    best = max(PRUNERS, key=lambda pruner: tries[pruner][1])
    assert main.PRUNE_EARLY['method'] == best


def test_prune_early_prunes_where_the_chosen_rows_settle(main):
    """The median, over the chosen AstroNet, MA-Net and gates tries, of the
    iteration from which their gates keep the FLOPs share within 0.03 of
    the budget (the multiplier's steady swing) to the end of training."""
    settled = []
    for method in ASTRO:
        unit = osp.join(ARCHIVE, f'{method}_f60_lr{main.CHOICES[method]}',
                        'seed0')
        settled.append(budget_reached_at(unit, 0.6, tolerance=0.03))
    assert None not in settled
    assert main.PRUNE_EARLY['iteration'] == int(statistics.median(settled))
    early = [run for run in main.runs if run.method == 'prune_early']
    assert {run.name for run in early} == {
        f'prune_early_{main.PRUNE_EARLY["method"]}_{budget}'
        for budget in ('f60', 'p60', 'f40', 'p40')}
    for run in early:
        assert f'custom_hooks.0.iteration={main.PRUNE_EARLY["iteration"]}' \
            in run.cfg_options


def test_every_row_at_every_budget_on_three_seeds(main):
    assert main.suite.seeds == [0, 1, 2] and main.suite.validation
    runs = {run.name: run for run in main.runs}
    plain = runs['plain']
    for budget in ('f60', 'p60', 'f40', 'p40'):
        measure = 'flops' if budget[0] == 'f' else 'params'
        for pruner in PRUNERS:
            tag = plain.prune[f'{pruner}_{budget}_{main.CHOICES[pruner]}']
            assert (tag.budget, tag.measure) == (int(budget[1:]) / 100,
                                                 measure)
        assert plain.prune[f'cost_{budget}_cost'].rank == 'cost'
        for method in ASTRO:
            run = runs[f'{method}_{budget}_lr{main.CHOICES[method]}']
            assert run.config.startswith(
                f'configs/{method}/{method}-{measure}{budget[1:]}_')
    assert len(plain.prune) == 24
    for run in ('slimming_l1', 'group_sparsity_reg'):
        (name, ) = [n for n in runs if n.startswith(run)]
        assert len(runs[name].prune) == 4 and runs[name].archive_weights


def test_the_chosen_tries_are_shared_with_the_tuning_stage(main):
    tuning = load_suite(TUNING, ROOT)
    assert main.suite.runs_root == tuning.suite.runs_root
    assert main.suite.archive == tuning.suite.archive
    tried = {run.name: run for run in tuning.runs}
    for run in main.runs:
        if run.name in tried:  # the same unit: the same config
            assert (run.config, list(run.cfg_options)) == (
                tried[run.name].config, list(tried[run.name].cfg_options))
    shared = [run.name for run in main.runs if run.name in tried]
    assert len(shared) == 6  # plain, slimming, group sparsity, 3 astro


def test_the_verdicts_budget_runs_first(main):
    names = [run.name for run in main.runs]
    assert main.suite.order == 'listed'
    first_other = min(i for i, n in enumerate(names)
                      if any(b in n for b in ('p60', 'f40', 'p40')))
    assert all('f60' in n or not any(b in n for b in ('p60', 'f40', 'p40'))
               for n in names[:first_other])
    assert {'plain', f'astronet_f60_lr{main.CHOICES["astronet"]}',
            f'prune_early_{main.PRUNE_EARLY["method"]}_f60'} <= \
        set(names[:first_other])
