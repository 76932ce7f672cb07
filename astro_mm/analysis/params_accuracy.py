"""Parameters vs accuracy of a table's runs, next to the papers' points."""
import json
import textwrap
from typing import Dict, List, Optional, Sequence, Tuple

from matplotlib import colormaps
from matplotlib.figure import Figure

from .figure_io import check_png_path, save_figure

REQUIRED_KEYS = ('label', 'params_M', 'accuracy')
# beyond this many points the labels overlap: the legend tells the methods
MAX_ANNOTATED = 12


def pareto_front(points: Sequence[Tuple[float, float]]
                 ) -> List[Tuple[float, float]]:
    """The (params, accuracy) points no other point beats with fewer or as
    many parameters, in increasing params."""
    front: List[Tuple[float, float]] = []
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return front


def _check_rows(rows: Sequence[dict]) -> None:
    if not rows:
        raise ValueError('rows is empty: give at least one run')
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f'rows[{index}] must be a dict, got '
                            f'{type(row).__name__}')
        missing = [key for key in REQUIRED_KEYS if row.get(key) is None]
        if missing:
            raise ValueError(
                f'rows[{index}] ({row.get("label", "no label")!r}) lacks '
                f'{missing}; every row needs {list(REQUIRED_KEYS)}')
        has_paper = [row.get(k) is not None
                     for k in ('paper_params_M', 'paper_accuracy')]
        if any(has_paper) and not all(has_paper):
            raise ValueError(
                f'rows[{index}] ({row["label"]!r}) gives only one of '
                'paper_params_M / paper_accuracy: give both or neither')


def plot_params_vs_accuracy(rows: Sequence[dict],
                            out: str,
                            title: str = 'Parameters vs accuracy',
                            accuracy_label: str = 'top-1 accuracy (%)',
                            pareto: bool = False) -> str:
    """Scatter params (M) against accuracy (%), one point per run.

    Each row is one run of a results table::

        dict(label='MA-Net R18', method='MA-Net', params_M=6.9,
             accuracy=96.1, accuracy_std=0.2,
             paper_params_M=6.94, paper_accuracy=96.81)

    Runs are filled markers coloured by ``method`` (one colour per distinct
    method, the label otherwise; ``marker`` a matplotlib marker, e.g. 's'
    for unpruned networks), with error bars of ``accuracy_std`` (the
    papers report means of 5 runs). Labels are written beside the points
    when there are at most 12 of them. A row's paper point, when given, is a
    hollow marker of the same colour joined to the run by a dotted line, so
    the gap to the paper reads at a glance.

    Args:
        rows (Sequence[dict]): ``label``, ``params_M``, ``accuracy``; optional
            ``accuracy_std``, ``method``, ``paper_params_M`` and
            ``paper_accuracy``.
        out (str): The PNG to write.
        title (str): The figure's title.
        accuracy_label (str): The y axis label.
        pareto (bool): Also draw the Pareto front of the measured points
            (the most accurate network at each parameter count or fewer).

    Returns:
        str: ``out``.

    Raises:
        ValueError: a row lacks a required key (named with the row's index),
            or gives only half of its paper point.
    """
    check_png_path(out)
    _check_rows(rows)
    groups = list(dict.fromkeys(r.get('method') or r['label'] for r in rows))
    palette = colormaps['tab10' if len(groups) <= 10 else 'tab20']
    colour_of: Dict[str, tuple] = {
        group: palette(i % palette.N) for i, group in enumerate(groups)}

    annotate = len(rows) <= MAX_ANNOTATED
    fig = Figure(figsize=(6.4, 4.6) if annotate else (8.0, 5.6))
    ax = fig.add_subplot()
    shown = set()
    for row in rows:
        group = row.get('method') or row['label']
        _plot_row(ax, row, colour_of[group],
                  None if group in shown else group, annotate)
        shown.add(group)
    if any(r.get('paper_params_M') is not None for r in rows):
        ax.scatter([], [], s=60, facecolors='none', edgecolors='grey',
                   label='paper')
    if pareto:
        front = pareto_front([(float(r['params_M']), float(r['accuracy']))
                              for r in rows])
        ax.step([x for x, _ in front], [y for _, y in front], where='post',
                color='grey', linestyle='--', linewidth=1,
                label='Pareto front')
    ax.set_xlabel('parameters (M)')
    ax.set_ylabel(accuracy_label)
    # a suite's title is a sentence: wrapped, it leaves the axes their width
    ax.set_title(textwrap.fill(title, 70), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8 if annotate else 7,
              **({} if annotate else dict(loc='center left',
                                          bbox_to_anchor=(1.01, 0.5))))
    return save_figure(fig, out)


def _plot_row(ax, row: dict, colour: tuple, label: Optional[str],
              annotate: bool) -> None:
    """One run's point (with its error bar, label and paper point)."""
    x, y = float(row['params_M']), float(row['accuracy'])
    std: Optional[float] = row.get('accuracy_std')
    ax.errorbar(x, y, yerr=None if std is None else float(std),
                fmt=row.get('marker', 'o'), color=colour, markersize=7,
                capsize=3, label=label)
    if annotate:
        ax.annotate(row['label'], (x, y), textcoords='offset points',
                    xytext=(6, 4), fontsize=8)
    if row.get('paper_params_M') is not None:
        px, py = float(row['paper_params_M']), float(row['paper_accuracy'])
        ax.plot([x, px], [y, py], linestyle=':', color=colour, linewidth=1)
        ax.scatter(px, py, s=60, facecolors='none', edgecolors=[colour],
                   linewidths=1.5)


def load_rows(path: str) -> list:
    """The rows of ``path``: a JSON list, or an object with ``rows``."""
    with open(path) as f:
        data = json.load(f)
    rows = data.get('rows') if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ValueError(f'{path}: expected a JSON list of rows or an object '
                         f'with "rows", got {type(data).__name__}')
    return rows
