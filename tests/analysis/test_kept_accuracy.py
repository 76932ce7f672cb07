"""Accuracy against the parameters and FLOPs a row keeps: each point lands
at its own ratio in each panel, and bad points are refused by index."""
import pytest

from astro_mm.analysis.kept_accuracy import (accuracy_vs_kept_figure,
                                               plot_accuracy_vs_kept)


def _point(method, measure, params, flops, accuracy, std=0.2):
    return dict(method=method, measure=measure, budget=0.6,
                params_ratio=params, flops_ratio=flops, accuracy=accuracy,
                accuracy_std=std)


def _xy(ax):
    """(x, y) of every point (an errorbar's data line holds one point; its
    caps are lines of marker '_')."""
    return sorted((float(line.get_xdata()[0]), float(line.get_ydata()[0]))
                  for line in ax.get_lines() if len(line.get_xdata()) == 1
                  and line.get_marker() in ('o', 'D'))


def test_each_panel_places_a_row_at_its_own_ratio():
    points = [_point('AstroNet', 'flops', 0.82, 0.595, 91.1),
              _point('L1', 'flops', 0.64, 0.597, 90.8),
              _point('L1', 'params', 0.598, 0.57, 90.4)]
    params_ax, flops_ax = accuracy_vs_kept_figure(points, budgets=[0.6]).axes
    assert _xy(params_ax) == [(0.598, 90.4), (0.64, 90.8), (0.82, 91.1)]
    assert _xy(flops_ax) == [(0.57, 90.4), (0.595, 91.1), (0.597, 90.8)]
    # the budget line in both panels
    for ax in (params_ax, flops_ax):
        assert any(list(line.get_xdata()) == [0.6, 0.6]
                   for line in ax.get_lines())
    # the measure of the budget is the marker: a circle for params
    markers = {line.get_marker() for line in params_ax.get_lines()
               if len(line.get_xdata()) == 1}
    assert {'o', 'D'} <= markers


def test_writes_the_png(tmp_path):
    out = plot_accuracy_vs_kept([_point('L1', 'flops', 0.6, 0.6, 90.0)],
                                str(tmp_path / 'fig.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_bad_points_are_refused_by_index(tmp_path):
    good = _point('L1', 'flops', 0.6, 0.6, 90.0)
    with pytest.raises(ValueError, match=r"points\[1\] \('L1'\) lacks "
                       r"\['flops_ratio'\]"):
        accuracy_vs_kept_figure([good, dict(good, flops_ratio=None)])
    with pytest.raises(ValueError, match="measure must be one of.*'macs'"):
        accuracy_vs_kept_figure([dict(good, measure='macs')])
    with pytest.raises(ValueError, match='.png'):
        plot_accuracy_vs_kept([good], str(tmp_path / 'fig.pdf'))
