"""The table of the paper-mode sensitivity study: what moves P under the
papers' objective (issue 25, section 3).

Reads the units of configs/suites/paper-mode-sensitivity_fashion-mnist-
holdout5k.py, from its archive (default) or its work dir
(``--root work_dirs/suites/paper-mode-sensitivity_fashion-mnist-
holdout5k``): every ``RUN/seedS`` folder with a ``result.json``. Per unit:

* the final P (the last record of ``p_history.npz``, written by
  ``astro_mm.ProbabilityHistoryHook``), all modulated units together: its
  mean, its standard deviation and the share below delta (the threshold of
  the ``delta`` prune in ``result.json``);
* the ``delta`` prune (``result.json``'s ``pruned.delta``, as
  ``pruned_delta.json`` reports it): the share of the backbone's
  parameters kept, and top-1 after it;
* top-1 of the trained network;
* the last e^t (AstroNet; :func:`astro_mm.analysis.et_curves.read_et_curve`)
  and the last ``loss_reg`` (MA-Net, lambda * L_reg) of the training log.

It trains nothing. Last line::

    paper_sensitivity: units=<n> max_share_below_delta=<x> best_variant=<name>

``best_variant`` is the unit whose delta prune keeps the fewest parameters,
among those that remove any (ties: the higher top-1); ``none`` when delta
removes nothing anywhere. A unit of a seed other than 0 is named
``RUN/seedS``.

Example::

    python benchmarks/paper_mode_sensitivity.py
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from astro_mm.analysis.et_curves import read_et_curve, read_scalars

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ARCHIVE = osp.join(ROOT, 'benchmarks', 'runs',
                   'paper-mode-sensitivity_fashion-mnist-holdout5k')
PRUNE_TAG = 'delta'
COLUMNS = ('variant', 'mean P', 'std P', 'share P < delta',
           'params kept at delta', 'top-1', 'top-1 at delta', 'last e^t',
           'last L_reg')


def read_json(path: str) -> dict:
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
    run, seed = osp.split(unit)
    return run if seed == 'seed0' else unit


def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def main(argv=None) -> Dict[str, Dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default=ARCHIVE,
                        help='the suite\'s archive or work dir')
    args = parser.parse_args(argv)
    units = find_units(args.root)
    if not units:
        raise FileNotFoundError(
            f'no unit (RUN/seedS/result.json) under {args.root!r}: run '
            'tools/run_suite.py configs/suites/paper-mode-sensitivity_'
            'fashion-mnist-holdout5k.py first')
    rows = {unit_name(u): read_unit(osp.join(args.root, u)) for u in units}
    print('| ' + ' | '.join(COLUMNS) + ' |')
    print('|' + '---|' * len(COLUMNS))
    for name, row in rows.items():
        cells = [
            name, _fmt(row['mean_p'], '.4f'), _fmt(row['std_p'], '.4f'),
            _fmt(row['share_below'], '.4f'), _fmt(row['params_ratio'], '.4f'),
            _fmt(row['top1'], '.2f'), _fmt(row['top1_delta'], '.2f'),
            _fmt(row['e_t'], '.3g'), _fmt(row['loss_reg'], '.3g')
        ]
        print('| ' + ' | '.join(cells) + ' |')
    pruning = [(row['params_ratio'], -(row['top1'] or 0.), name)
               for name, row in rows.items() if row['params_ratio'] < 1.0]
    best = min(pruning)[2] if pruning else 'none'
    share = max(row['share_below'] for row in rows.values())
    print(f'paper_sensitivity: units={len(rows)} '
          f'max_share_below_delta={share:.4f} best_variant={best}',
          flush=True)
    return rows


if __name__ == '__main__':
    main()
