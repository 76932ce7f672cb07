"""Figures without pyplot: no global backend, safe in any process.

A :class:`matplotlib.figure.Figure` made directly renders through the Agg
canvas; pyplot's global state (open-figure registry, interactive backend
picked from the environment) is never touched, so the figures can be made
from a training process, a test or a head-less benchmark runner alike.
"""
import os
import os.path as osp

from matplotlib.figure import Figure


def check_png_path(out: str) -> str:
    """``out`` as given, after checking it names a ``.png`` file."""
    if not str(out).lower().endswith('.png'):
        raise ValueError(f'out must be a .png file, got {out!r}')
    return str(out)


def save_figure(fig: Figure, out: str, dpi: int = 120) -> str:
    """Write ``fig`` to the PNG ``out`` (parent folders created); return it."""
    out = check_png_path(out)
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches='tight')
    return out
