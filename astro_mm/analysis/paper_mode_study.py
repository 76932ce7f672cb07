"""Reading the paper-mode sensitivity study: what moves P under the
papers' objective (issue 25, section 3).

The units of configs/suites/paper-mode-sensitivity_fashion-mnist-
holdout5k.py, each a row: the final P (mean, standard deviation, share
below delta), the ``delta`` prune (parameters kept, top-1 after it), top-1,
the last e^t and the last ``loss_reg``.
``benchmarks/paper_mode_sensitivity.py`` prints the table (see its
docstring for the columns).
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from .et_curves import read_et_curve, read_scalars

PRUNE_TAG = 'delta'
COLUMNS = ('variant', 'mean P', 'std P', 'share P < delta',
           'params kept at delta', 'top-1', 'top-1 at delta', 'last e^t',
           'last L_reg')


def read_json(path: str) -> dict:
    """The JSON file at ``path``."""
    with open(path) as f:
        return json.load(f)


def final_probs(unit_dir: str) -> np.ndarray:
    """P of every modulated unit at the last record of the unit's history.

    Raises:
        FileNotFoundError: the unit has no ``p_history.npz``.
        ValueError: the history holds no ``p/*`` array or no record.
    """
    path = osp.join(unit_dir, 'p_history.npz')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist (written by '
                                'astro_mm.ProbabilityHistoryHook)')
    with np.load(path, allow_pickle=False) as history:
        stages = [history[k] for k in history.files if k.startswith('p/')]
    if not stages or not len(stages[0]):
        raise ValueError(f'{path} holds no P record (arrays p/<stage>)')
    return np.concatenate([p[-1].ravel() for p in stages])


def last_logged(unit_dir: str, key: str) -> Optional[float]:
    """The last value of ``key`` in the training log, None if never
    logged; e^t only from the records of Phi-steps (read_et_curve)."""
    try:
        if key == 'e_t':
            return float(read_et_curve(unit_dir)[1][-1])
        values = [r[key] for r in read_scalars(unit_dir) if key in r]
    except (FileNotFoundError, ValueError):
        return None
    return float(values[-1]) if values else None


def read_unit(unit_dir: str) -> Dict[str, object]:
    """One row of the table from the unit folder ``RUN/seedS``.

    Raises:
        KeyError: ``result.json`` has no ``delta`` prune (the message names
            the file).
    """
    result_path = osp.join(unit_dir, 'result.json')
    result = read_json(result_path)
    prune = result.get('pruned', {}).get(PRUNE_TAG)
    if prune is None:
        raise KeyError(f'{result_path} has no prune {PRUNE_TAG!r}: the study '
                       'prunes every run at delta')
    delta = prune['threshold']
    probs = final_probs(unit_dir)
    return dict(
        mean_p=float(probs.mean()),
        std_p=float(probs.std()),
        share_below=float((probs < delta).mean()),
        params_ratio=float(prune['params_ratio']),
        top1=result['top1'],
        top1_delta=prune.get('top1'),
        e_t=last_logged(unit_dir, 'e_t'),
        loss_reg=last_logged(unit_dir, 'loss_reg'))


def find_units(root: str) -> List[str]:
    """``RUN/seedS`` folders under ``root`` with a result.json, by name."""
    paths = glob.glob(osp.join(root, '*', 'seed*', 'result.json'))
    return sorted(osp.relpath(osp.dirname(p), root) for p in paths)


def unit_name(unit: str) -> str:
    """A unit's row name: its run, or ``RUN/seedS`` for a seed other than
    0."""
    run, seed = osp.split(unit)
    return run if seed == 'seed0' else unit


def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def read_study(root: str) -> Dict[str, Dict[str, object]]:
    """The rows of every unit under ``root`` (the suite's archive or work
    dir), by unit name.

    Raises:
        FileNotFoundError: No unit under ``root``.
        KeyError: A unit has no ``delta`` prune.
    """
    units = find_units(root)
    if not units:
        raise FileNotFoundError(
            f'no unit (RUN/seedS/result.json) under {root!r}: run '
            'tools/run_suite.py configs/suites/paper-mode-sensitivity_'
            'fashion-mnist-holdout5k.py first')
    return {unit_name(u): read_unit(osp.join(root, u)) for u in units}


def table_lines(rows: Dict[str, Dict[str, object]]) -> List[str]:
    """The rows as a markdown table, one line per unit."""
    lines = ['| ' + ' | '.join(COLUMNS) + ' |',
             '|' + '---|' * len(COLUMNS)]
    for name, row in rows.items():
        cells = [
            name, _fmt(row['mean_p'], '.4f'), _fmt(row['std_p'], '.4f'),
            _fmt(row['share_below'], '.4f'), _fmt(row['params_ratio'], '.4f'),
            _fmt(row['top1'], '.2f'), _fmt(row['top1_delta'], '.2f'),
            _fmt(row['e_t'], '.3g'), _fmt(row['loss_reg'], '.3g')
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def summary_line(rows: Dict[str, Dict[str, object]]) -> str:
    """The benchmark's last line: units, the largest share of P below
    delta, and the unit whose delta prune keeps the fewest parameters
    (ties: the higher top-1; ``none`` when delta removes nothing)."""
    pruning = [(row['params_ratio'], -(row['top1'] or 0.), name)
               for name, row in rows.items() if row['params_ratio'] < 1.0]
    best = min(pruning)[2] if pruning else 'none'
    share = max(row['share_below'] for row in rows.values())
    return (f'paper_sensitivity: units={len(rows)} '
            f'max_share_below_delta={share:.4f} best_variant={best}')
