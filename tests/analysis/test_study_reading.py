"""benchmarks/study_reading.py reprints the converged study's reading from
the committed archive: its counts must be the archive's, and a prune the
archive lacks must be named."""
import json
import os.path as osp
import shutil

import pytest

from astro_mm.analysis.converged_study import BUDGETS, STANDARD, finetuned
from conftest import ROOT, run_tool

ARCHIVE = osp.join(ROOT, 'benchmarks', 'runs', 'converged-study_fashion-mnist')


def test_reading_counts_the_archive():
    lines = run_tool('benchmarks/study_reading.py').stdout.splitlines()
    # seed-budget pairs recomputed from the archive's result.json files
    best_margins = []
    for budget in BUDGETS:
        for seed in (0, 1, 2):
            best = max(finetuned(ARCHIVE, 'plain', seed, f'{m}_{budget}')
                       for m in STANDARD)
            astro = finetuned(ARCHIVE, f'astronet_b{budget}', seed,
                              f'b{budget}')
            best_margins.append(astro - best)
    wins = sum(m > 0 for m in best_margins)
    assert lines[-1].startswith(f'study_reading: astronet_wins={wins}/6 ')
    assert sum(line.startswith('budget 0.') for line in lines) == 6
    # the paper-faithful P stays near 1, the budget-aware gates reach 0
    astronet = next(line for line in lines if line.startswith('astronet:'))
    assert 'below 0.5: 0/' in astronet
    gated = next(line for line in lines if line.startswith('astronet_b40:'))
    assert 'range 0.000-' in gated


def test_missing_prune_is_named(tmp_path):
    archive = tmp_path / 'archive'
    shutil.copytree(osp.join(ARCHIVE, 'plain'), archive / 'plain')
    result = archive / 'plain' / 'seed0' / 'result.json'
    data = json.loads(result.read_text())
    data['pruned'].pop('l1_60')
    result.write_text(json.dumps(data))
    with pytest.raises(KeyError, match=r"plain/seed0/result.json.*'l1_60'"):
        finetuned(str(archive), 'plain', 0, 'l1_60')
