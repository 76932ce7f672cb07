"""Histograms of P per stage at several points of training, delta marked."""
import math

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from astro_mm.engine.hooks.probability_history_hook import (
    PROBS_PREFIX, STEP_KEY, load_probability_history)
from .figure_io import check_png_path, save_figure


def _snapshot_indices(num_records: int, num_snapshots: int) -> np.ndarray:
    """Evenly spaced records, always the first and the last."""
    count = min(num_records, num_snapshots)
    return np.unique(np.linspace(0, num_records - 1, count).round().astype(int))


def _logit(p):
    return np.log(p) - np.log1p(-p)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _axis_limits(probs: np.ndarray, delta: float):
    """A decade beyond delta and the extreme P, on both ends of (0, 1)."""
    inside = probs[(probs > 0) & (probs < 1)]
    smallest = min(delta, inside.min()) if len(inside) else delta
    gap = min(delta, 1 - inside.max()) if len(inside) else delta
    low = 10.0**(math.floor(math.log10(smallest)) - 1)
    high = 1 - 10.0**(math.floor(math.log10(gap)) - 1)
    return low, high


def _thinned_decades(exponents, max_per_side: int):
    """Every k-th decade from the one nearest 0.5, at most ``max_per_side``:
    a budget-aware run drives P to 1e-30 and beyond, and one label per
    decade would overprint."""
    step = max(1, math.ceil(len(exponents) / max_per_side))
    return exponents[::step]


def _logit_ticks(low: float, high: float, max_per_side: int = 5):
    """Decades towards 0, 0.5, and 1 - decades towards 1, as plain numbers."""
    below = [10.0**k for k in _thinned_decades(
        list(range(-1, round(math.log10(low)) - 1, -1)), max_per_side)]
    above = [1 - 10.0**k for k in _thinned_decades(
        list(range(-1, round(math.log10(1 - high)) - 1, -1)), max_per_side)]
    return [t for t in sorted(below) + [0.5] + above if low <= t <= high]


def _tick_label(tick: float) -> str:
    # 1 - 1e-8 prints as '1' with :g, so the decades towards 1 say so
    if tick > 0.5 and 1 - tick < 1e-3:
        return f'1-{1 - tick:.0e}'.replace('e-0', 'e-')
    return f'{tick:g}'


def binned_counts(probs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Units per bin, P outside the edges counted in the first / last bin.

    In float64: in float32 the upper edge 1 - 1e-8 rounds to 1, and P = 1
    would escape every bin.
    """
    values = np.clip(np.asarray(probs, dtype=np.float64), edges[0], edges[-1])
    return np.histogram(values, bins=edges)[0]


def plot_p_histograms(history_file: str,
                      out: str,
                      delta: float = 1e-3,
                      num_snapshots: int = 4,
                      bins: int = 60) -> str:
    """One panel per stage: histograms of P at several training iterations.

    The history is the ``p_history.npz`` that
    :class:`astro_mm.ProbabilityHistoryHook` writes into the work dir. Up to
    ``num_snapshots`` records, evenly spaced from the first to the last, are
    overlaid as step histograms coloured from early (dark) to late (yellow);
    the legend gives each one's share of units below delta (those physical
    pruning removes). The x axis is on the logit scale (log-like near 0 and
    near 1), from a decade beyond delta and the smallest P to a decade beyond
    the largest P: delta = 1e-3 and the P near 1 where training starts
    (0.95) are both resolved. P that the float sigmoid rounded to exactly 0
    or 1 counts in the first / last bin.

    Args:
        history_file (str): The ``.npz`` written by the hook.
        out (str): The PNG to write.
        delta (float): The pruning threshold, drawn as a vertical line.
        num_snapshots (int): How many records to overlay per panel.
        bins (int): Log-spaced bins per histogram.

    Returns:
        str: ``out``.

    Raises:
        FileNotFoundError: ``history_file`` does not exist.
        ValueError: the file is not a P history, holds no record, or delta is
            not in (0, 1).
    """
    check_png_path(out)
    if not 0 < delta < 1:
        raise ValueError(f'delta must be in (0, 1), got {delta}')
    history = load_probability_history(history_file)
    steps = history[STEP_KEY]
    if len(steps) == 0:
        raise ValueError(f'{history_file!r} holds no record: the run never '
                         'left its warm-up rounds')
    stages = [k[len(PROBS_PREFIX):] for k in history if k.startswith(PROBS_PREFIX)]
    chosen = _snapshot_indices(len(steps), num_snapshots)
    all_probs = np.concatenate(
        [history[PROBS_PREFIX + s][chosen].ravel() for s in stages])
    low, high = _axis_limits(all_probs, delta)
    edges = _sigmoid(np.linspace(_logit(low), _logit(high), bins + 1))
    # the round trip through the logit can land a hair inside [low, high],
    # and np.histogram would then drop the clipped extremes
    edges[0], edges[-1] = low, high
    colours = colormaps['viridis'](np.linspace(0, 0.9, len(chosen)))

    cols = min(len(stages), 2)
    rows = math.ceil(len(stages) / cols)
    fig = Figure(figsize=(5.2 * cols, 3.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, stage in zip(axes, stages):
        probs = history[PROBS_PREFIX + stage]
        for colour, index in zip(colours, chosen):
            below = 100.0 * float((probs[index] < delta).mean())
            ax.stairs(binned_counts(probs[index], edges), edges, color=colour,
                      linewidth=1.5,
                      label=f'iter {steps[index]} ({below:.1f} % < delta)')
        ax.axvline(delta, color='crimson', linestyle='--', linewidth=1.2,
                   label=f'delta = {delta:g}')
        ax.set_xscale('logit')
        ax.set_xlim(low, high)
        ticks = _logit_ticks(low, high)
        ax.set_xticks(ticks, [_tick_label(t) for t in ticks], rotation=40,
                      fontsize=8)
        ax.minorticks_off()
        ax.set_title(f'{stage} ({probs.shape[1]} units)')
        ax.set_xlabel('P')
        ax.set_ylabel('units')
        ax.legend(fontsize=7, loc='best')
    for ax in axes[len(stages):]:
        ax.set_visible(False)
    fig.suptitle('P per stage over training')
    fig.tight_layout()
    return save_figure(fig, out)
