"""e^t over training, one curve per run (AstroNet supp. Fig. 4)."""
import glob
import json
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
from matplotlib.figure import Figure

from .figure_io import check_png_path, save_figure

# AlternatingAlgorithm logs the phase as 0 (warm-up), 1 (W), 2 (Phi) or 3
# (per batch: a Phi-step then a W-step, the authors' alternation)
PHI_PHASE = 2
BATCH_PHASE = 3
FRESH_PHASES = (PHI_PHASE, BATCH_PHASE)


def read_scalars(work_dir: str) -> List[dict]:
    """Every training record mmengine logged in ``work_dir``, by step.

    mmengine's ``LocalVisBackend`` writes one JSON object per log interval to
    ``WORK_DIR/<timestamp>/vis_data/scalars.json``; every (resumed) run adds
    a timestamp folder. The folders are read in time order and a step logged
    twice (redone after a resume) keeps its latest record.

    Returns:
        list[dict]: Records with a ``step`` (validation records have no loss
        and are kept too), sorted by step.

    Raises:
        FileNotFoundError: ``work_dir`` holds no ``*/vis_data/scalars.json``.
    """
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir {work_dir!r} does not exist')
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'work dir {work_dir!r} holds no */vis_data/scalars.json (written '
            "by mmengine's LocalVisBackend during training)")
    by_step: Dict[Tuple[int, bool], dict] = {}
    for path in files:
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{path}:{number}: not JSON ({err})') from err
                if 'step' in record:
                    # train and val records may share a step: keep both
                    by_step[(int(record['step']), 'loss' in record)] = record
    return [by_step[key] for key in sorted(by_step)]


def read_et_curve(work_dir: str) -> Tuple[np.ndarray, np.ndarray]:
    """Iterations and e^t of an AstroNet run's Phi-round log records.

    mmengine logs the latest value of a non-loss scalar at every interval,
    so in W-rounds ``e_t`` repeats the last Phi-round's value; only records
    whose ``phase`` is 2 (Phi) or 3 (a Phi-step on every batch) carry a
    fresh one. Runs logged without a ``phase`` keep every record with
    ``e_t``.

    Raises:
        FileNotFoundError: see :func:`read_scalars`.
        ValueError: no record of ``work_dir`` holds ``e_t`` from a Phi-round.
    """
    records = [r for r in read_scalars(work_dir) if 'e_t' in r]
    if not records:
        raise ValueError(
            f'work dir {work_dir!r} logged no e_t: e_t is logged by AstroNet '
            '(astro_mm.AstroNetModulator) in Phi-rounds, after the warm-up')
    fresh = [r for r in records if r.get('phase', PHI_PHASE) in FRESH_PHASES]
    if not fresh:
        raise ValueError(
            f'work dir {work_dir!r} logged e_t only at W-round iterations, '
            'where it repeats the last Phi-round value; log at an interval '
            'that lands in Phi-rounds (default_hooks.logger.interval)')
    steps = np.array([r['step'] for r in fresh], dtype=np.int64)
    values = np.array([r['e_t'] for r in fresh], dtype=np.float64)
    return steps, values


def plot_et_curves(runs: Dict[str, str],
                   out: str,
                   title: str = r'AstroNet $e^t$') -> str:
    """Plot e^t over training iterations for several runs, one curve each.

    AstroNet supp. Fig. 4 draws one curve per lambda of the temporal term;
    give each run a label saying what differs::

        plot_et_curves({'lambda=1e-3': 'work_dirs/astronet_a',
                        'lambda=1e-1': 'work_dirs/astronet_b'}, 'et.png')

    The y axis is logarithmic when the values span more than two decades.

    Args:
        runs (dict[str, str]): Label -> work dir of an AstroNet training.
        out (str): The PNG to write.
        title (str): The figure's title.

    Returns:
        str: ``out``.

    Raises:
        ValueError: ``runs`` is empty, or a run logged no e^t (the error names
            its work dir).
        FileNotFoundError: a work dir holds no mmengine scalars.
    """
    check_png_path(out)
    if not runs:
        raise ValueError('runs is empty: give at least one label -> work dir')
    curves = {label: read_et_curve(work_dir) for label, work_dir in runs.items()}
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for label, (steps, values) in curves.items():
        ax.plot(steps, values, marker='o' if len(steps) < 30 else None,
                markersize=3, linewidth=1.5, label=label)
    values = np.concatenate([v for _, v in curves.values()])
    positive = values[values > 0]
    if len(positive) == len(values) and positive.max() > 100 * positive.min():
        ax.set_yscale('log')
    ax.set_xlabel('iteration')
    ax.set_ylabel(r'$e^t$ (Phi-rounds)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, out)
