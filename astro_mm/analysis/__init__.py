"""Figures of the suite, saved as PNG (matplotlib, Agg).

One module per figure; each function takes plain inputs (work dirs, files,
dicts) and returns the path of the PNG it wrote, so a benchmark runner can
call it directly. ``tools/analysis_tools/`` has one command line per function.

- :func:`plot_et_curves`: e^t over iterations, one curve per run
  (AstroNet supp. Fig. 4).
- :func:`plot_p_histograms`: P per stage at several points of training,
  delta marked (needs :class:`astro_mm.engine.ProbabilityHistoryHook`).
- :func:`gradcam_compare`: Grad-CAM of plain vs astro backbones on the same
  images (AstroNet supp. Fig. 2, 3, 5).
- :func:`plot_params_vs_accuracy`: a table's runs as params vs accuracy,
  next to the papers' points.
- :func:`plot_accuracy_vs_kept`: pruned rows' accuracy against the share of
  parameters and of FLOPs they keep, side by side.

The modules the benchmarks in ``benchmarks/`` read and measure with are
imported by name, each the library of one script: :mod:`.fair_study`,
:mod:`.converged_study`, :mod:`.paper_mode_study`,
:mod:`.convergence_runs`, :mod:`.detector_ap_curve` and
:mod:`.modulation_overhead`.
"""
from .kept_accuracy import plot_accuracy_vs_kept
from .et_curves import plot_et_curves, read_et_curve, read_scalars
from .gradcam import gradcam_compare, grad_cam, load_classifier, load_image
from .p_histograms import plot_p_histograms
from .params_accuracy import load_rows, plot_params_vs_accuracy

__all__ = [
    'plot_et_curves', 'read_et_curve', 'read_scalars', 'gradcam_compare',
    'grad_cam', 'load_classifier', 'load_image', 'plot_p_histograms',
    'plot_params_vs_accuracy', 'load_rows', 'plot_accuracy_vs_kept'
]
