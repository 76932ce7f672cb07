"""Accuracy against the share of parameters and of FLOPs a pruned row keeps.

A budget in one measure says little of the other: at parameters 0.6 a row
may keep 0.55 or 0.8 of the FLOPs (issue 25). So a pruned row is drawn twice,
side by side: its accuracy against the parameters it keeps (left) and
against the FLOPs it keeps (right), each with the budgets marked, one colour
per method and one marker per measure its budget counted.
"""
from typing import Dict, Sequence

from matplotlib import colormaps
from matplotlib.figure import Figure

from .figure_io import check_png_path, save_figure

REQUIRED_KEYS = ('method', 'measure', 'params_ratio', 'flops_ratio',
                 'accuracy')
MEASURES = ('params', 'flops')
# the measure the row's budget counted: filled circle / filled diamond
MARKER_OF = dict(params='o', flops='D')


def _check_points(points: Sequence[dict]) -> None:
    if not points:
        raise ValueError('points is empty: give at least one pruned row')
    for index, point in enumerate(points):
        missing = [key for key in REQUIRED_KEYS if point.get(key) is None]
        if missing:
            raise ValueError(
                f'points[{index}] ({point.get("method", "no method")!r}) '
                f'lacks {missing}; every point needs {list(REQUIRED_KEYS)}')
        if point['measure'] not in MEASURES:
            raise ValueError(
                f'points[{index}] ({point["method"]!r}) measure must be one '
                f'of {MEASURES}, got {point["measure"]!r}')


def plot_accuracy_vs_kept(points: Sequence[dict],
                          out: str,
                          title: str = 'Accuracy against what a row keeps',
                          budgets: Sequence[float] = (),
                          accuracy_label: str = 'top-1 accuracy (%)'
                          ) -> str:
    """Two panels: accuracy against the params ratio, and against the FLOPs
    ratio, one point per pruned row (a method at one budget, its mean over
    seeds).

    Each point::

        dict(method='AstroNet', measure='flops', budget=0.6,
             params_ratio=0.82, flops_ratio=0.595, accuracy=91.07,
             accuracy_std=0.33)

    Args:
        points (Sequence[dict]): ``method``, ``measure`` (``'params'`` or
            ``'flops'``: what the row's budget counted), ``params_ratio``,
            ``flops_ratio``, ``accuracy``; optional ``accuracy_std`` (an
            error bar).
        out (str): The PNG to write.
        title (str): The figure's title.
        budgets (Sequence[float]): Budgets to mark as vertical lines in both
            panels (a row of that measure sits just left of its line).
        accuracy_label (str): The y axis label.

    Returns:
        str: ``out``.

    Raises:
        ValueError: A point lacks a key or names an unknown measure (named
            with its index).
    """
    check_png_path(out)
    return save_figure(accuracy_vs_kept_figure(
        points, title, budgets, accuracy_label), out)


def accuracy_vs_kept_figure(points: Sequence[dict],
                            title: str = 'Accuracy against what a row keeps',
                            budgets: Sequence[float] = (),
                            accuracy_label: str = 'top-1 accuracy (%)'
                            ) -> Figure:
    """The figure :func:`plot_accuracy_vs_kept` writes (its two axes:
    parameters, then FLOPs)."""
    _check_points(points)
    methods = list(dict.fromkeys(p['method'] for p in points))
    palette = colormaps['tab20']
    # tab20 pairs a dark and a light shade of each hue: the dark ones first,
    # so up to 10 methods get 10 hues
    colour_of: Dict[str, tuple] = {
        method: palette((2 * i) % 20 + (i // 10) % 2)
        for i, method in enumerate(methods)}
    fig = Figure(figsize=(11.0, 4.6))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, ratio, name in zip(axes, ('params_ratio', 'flops_ratio'),
                               ('parameters', 'FLOPs (MACs)')):
        for point in points:
            std = point.get('accuracy_std')
            ax.errorbar(float(point[ratio]), float(point['accuracy']),
                        yerr=None if std is None else float(std),
                        fmt=MARKER_OF[point['measure']],
                        color=colour_of[point['method']], markersize=6,
                        capsize=2)
        for budget in budgets:
            ax.axvline(budget, color='grey', linestyle=':', linewidth=1)
        ax.set_xlabel(f'share of the backbone\'s {name} kept')
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(accuracy_label)
    # one legend: the colours are the methods, the markers the measures
    for method in methods:
        axes[1].plot([], [], 's', color=colour_of[method], label=method)
    for measure in MEASURES:
        if any(p['measure'] == measure for p in points):
            axes[1].plot([], [], MARKER_OF[measure], color='grey',
                         label=f'budget on {measure}')
    axes[1].legend(fontsize=7, loc='center left', bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(title, fontsize=10)
    return fig
