"""The fair study's reading (benchmarks/fair_study_reading.py over
astro_mm.analysis.fair_study), on a synthetic archive whose figures are
known: settings are chosen on validation, never on test; the best rival is
the one validation prefers even where test prefers another; the paired
differences and their t intervals are the hand-computed ones."""
import json
import os

import pytest

from astro_mm.analysis.fair_study import (Comparison, choose_settings,
                                          read_rows, t_half_width)


def _unit(folder, run, seed, pruned):
    path = folder / run / f'seed{seed}'
    os.makedirs(path, exist_ok=True)
    (path / 'result.json').write_text(json.dumps(dict(
        run=run, seed=seed, top1=90.0, pruned=pruned)))


def _row(test, val, params=0.70, flops=0.60):
    return dict(top1=80.0, top1_finetuned=test, top1_val_finetuned=val,
                params_ratio=params, flops_ratio=flops)


def _archive(folder, gates_val=89.0):
    # astronet: two Phi lr tries on seed 0; 3e-2 wins on validation
    astronet = {0: 91.0, 1: 90.0, 2: 92.0}
    gates = {0: 90.5, 1: 89.0, 2: 91.7}
    l1 = {0: 90.0, 1: 88.0, 2: 91.0}
    taylor = {0: 92.0, 1: 92.0, 2: 92.0}   # best on test, worst on val
    for seed in (0, 1, 2):
        _unit(folder, 'astronet_f60_lr3e-2', seed,
              dict(gates=_row(astronet[seed], 90.0, flops=0.605)))
        _unit(folder, 'gates_f60_lr3e-3', seed,
              dict(gates=_row(gates[seed], gates_val)))
        plain = dict(l1_f60_group=_row(l1[seed], 89.5),
                     taylor_f60_group=_row(taylor[seed], 80.0, flops=0.598))
        if seed == 0:  # the tuning stage's other tries
            plain['l1_f60_cost'] = _row(99.0, 85.0)  # test must not choose
        _unit(folder, 'plain', seed, plain)
    _unit(folder, 'astronet_f60_lr3e-3', 0, dict(gates=_row(93.0, 88.0)))
    _unit(folder, 'gates_f60_lr3e-2', 0, dict(gates=_row(93.0, 88.5)))
    return astronet, gates, l1


def _suite(folder, extra_runs=()):
    """The main stage's suite config of the synthetic archive: the chosen
    runs on seeds 0-2 (the tuning stage's other tries are not planned)."""
    runs = [dict(name='astronet_f60_lr3e-2', prune=dict(gates={})),
            dict(name='gates_f60_lr3e-3', prune=dict(gates={})),
            dict(name='plain', prune=dict(l1_f60_group={},
                                          taylor_f60_group={})),
            *extra_runs]
    path = folder / 'suite.py'
    path.write_text(f'suite = dict(seeds=[0, 1, 2])\nruns = {runs!r}\n')
    return str(path)


def _read(folder, *args, extra_runs=()):
    from conftest import run_tool
    return run_tool('benchmarks/fair_study_reading.py', '--folder',
                    str(folder), '--suite', _suite(folder, extra_runs),
                    *args)


def test_settings_are_chosen_on_validation_never_on_test(tmp_path):
    _archive(tmp_path)
    choices = choose_settings(read_rows(str(tmp_path)))
    assert choices['astronet'][0] == 'astronet_lr3e-2/gates'
    assert choices['gates'][0] == 'gates_lr3e-3/gates'
    # l1_cost has the highest test top-1 (99) but the lower validation one
    assert choices['l1'][0] == 'plain/l1_group'
    assert choices['l1'][2] == {'plain/l1_group': 89.5,
                                'plain/l1_cost': 85.0}


def test_a_try_without_validation_refuses_to_choose(tmp_path):
    _unit(tmp_path, 'plain', 0, dict(
        l1_f60_group=dict(_row(90.0, None))))
    with pytest.raises(ValueError, match='never chosen on the test set'):
        choose_settings(read_rows(str(tmp_path)))


def test_t_interval_is_the_textbook_one():
    # mean 1, sample sd 1, n = 3: t(0.975, 2) = 4.3027 -> 4.3027 / sqrt(3)
    assert t_half_width([0.0, 1.0, 2.0]) == pytest.approx(2.48414, abs=1e-4)
    assert Comparison('a', 'b', 'flops', 0.6, {0: 3.0, 1: 3.1, 2: 2.9}
                      ).verdict == 'a'
    assert Comparison('a', 'b', 'flops', 0.6, {0: 1.0, 1: -1.0, 2: 0.5}
                      ).verdict == 'tie'
    assert Comparison('a', 'b', 'flops', 0.6, {0: -2.0, 1: -2.2, 2: -1.9}
                      ).verdict == 'b'


def test_the_reading_prints_the_paired_verdicts(tmp_path):
    astronet, gates, l1 = _archive(tmp_path)
    figure = tmp_path / 'figure' / 'kept.png'
    out = _read(tmp_path, '--figure', str(figure), '--all-pairs').stdout
    assert f'figure: {figure}' in out and figure.stat().st_size > 1000
    # --all-pairs: gates against l1, which the verdict's pairs leave out
    gates_l1 = sum(gates[s] - l1[s] for s in (0, 1, 2)) / 3
    assert f'| gates | l1 | 3 | {gates_l1:.2f} |' in out
    line = out.strip().splitlines()[-1]
    assert line.startswith('fair_study: ')
    fields = dict(item.split('=') for item in line.split(': ')[1].split())
    assert fields['units'] == '11'
    # astronet keeps 0.605 of the FLOPs against 0.6: the largest deviation
    assert float(fields['max_budget_dev']) == pytest.approx(0.005, abs=1e-4)
    vs_gates = [astronet[s] - gates[s] for s in (0, 1, 2)]
    assert float(fields['astronet_vs_gates']) == pytest.approx(
        sum(vs_gates) / 3, abs=1e-3)
    assert float(fields['astronet_vs_gates_ci']) == pytest.approx(
        t_half_width(vs_gates), abs=1e-3)
    # the best rival is l1 (validation 89.5), not taylor (test 92, val 80)
    # nor gates (val 89.0)
    vs_best = [astronet[s] - l1[s] for s in (0, 1, 2)]
    assert float(fields['astronet_vs_best']) == pytest.approx(
        sum(vs_best) / 3, abs=1e-3)
    assert 'Best rival on validation: l1' in out
    assert fields['manet_vs_best'] == '-'  # no MA-Net row in this archive


def test_a_rival_short_of_seeds_is_not_chosen_yet(tmp_path):
    """A method with seed 0 only (its seeds 1-2 still training) is no best
    rival, however high its one validation figure: the reading chooses
    among the complete methods and says the line is provisional."""
    _archive(tmp_path)
    _unit(tmp_path, 'slimming_l11e-4', 0,
          dict(bn_scale_f60_group=_row(95.0, 99.0)))
    proc = _read(tmp_path, extra_runs=[dict(
        name='slimming_l11e-4', prune=dict(bn_scale_f60_group={}))])
    assert 'Best rival on validation: l1 (among the methods with every ' \
        'seed; not yet in the running: slimming (seeds 1, 2 to come))' \
        in proc.stdout
    assert 'WARNING: provisional' in proc.stderr
    assert 'slimming lack seeds' in proc.stderr


def test_gates_may_be_the_best_rival(tmp_path):
    """Where validation prefers gates, astronet_vs_best is astronet_vs_gates
    (not left out because gates has a line of its own)."""
    _archive(tmp_path, gates_val=95.0)
    proc = _read(tmp_path)
    line = proc.stdout.strip().splitlines()[-1]
    fields = dict(item.split('=') for item in line.split(': ')[1].split())
    assert 'Best rival on validation: gates' in proc.stdout
    assert fields['astronet_vs_best'] == fields['astronet_vs_gates'] != '-'
    assert fields['astronet_vs_best_ci'] == fields['astronet_vs_gates_ci']
    # and the best published method is compared too (l1: validation 89.5)
    assert 'the best published method: l1' in proc.stdout
    assert '| astronet | l1 | 3 |' in proc.stdout


def test_a_complete_study_is_not_provisional(tmp_path):
    _archive(tmp_path)
    assert 'provisional' not in _read(tmp_path).stderr


def test_a_planned_method_without_rows_keeps_the_line_provisional(
        tmp_path):
    """prune-early, planned but not yet run, has no row at all: the study
    is still in progress, whatever the rows present say."""
    _archive(tmp_path)
    proc = _read(tmp_path, extra_runs=[dict(
        name='prune_early_bn_scale_f60', prune=dict(early={}))])
    assert 'not yet in the running: prune_early (seeds 0, 1, 2 to come)' \
        in proc.stdout
    assert 'prune_early lack seeds' in proc.stderr


def test_budget_reached_is_where_the_kept_share_settles(tmp_path):
    from astro_mm.analysis.fair_study import budget_reached_at
    logs = tmp_path / '20261207_000000' / 'vis_data'
    logs.mkdir(parents=True)
    ratios = [1.0, 0.8, 0.61, 0.7, 0.605, 0.598, 0.601]  # settles at 100
    logs.joinpath('scalars.json').write_text('\n'.join(
        json.dumps(dict(step=20 * (i + 1), loss=1.0, kept_ratio=r))
        for i, r in enumerate(ratios)))
    assert budget_reached_at(str(tmp_path), 0.6) == 100
    assert budget_reached_at(str(tmp_path), 0.4) is None
    logs.joinpath('scalars.json').write_text(json.dumps(dict(step=1,
                                                             loss=1.0)))
    with pytest.raises(ValueError, match='no kept_ratio'):
        budget_reached_at(str(tmp_path), 0.6)
