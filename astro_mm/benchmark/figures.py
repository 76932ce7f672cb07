"""The figures of a suite, next to its tables (``WORK_DIR/figures/``).

* ``params_vs_accuracy.png``: every classification row (trained and
  pruned) with the paper's point where the suite gives one;
* ``p_histograms_<run>.png``: P per stage over training, delta marked, for
  each astro run whose training recorded a P history
  (``astro_mm.ProbabilityHistoryHook``);
* ``et_curves.png``: e^t over iterations of the AstroNet runs (one curve
  per run: the lambda ablation of AstroNet supp. Fig. 4 when the suite
  varies lambda);
* ``gradcam.png``: Grad-CAM of the plain vs the astro classifiers on the
  same photos (scikit-image's, shipped with the package).
"""
import os.path as osp
from typing import Callable, Dict, List

from .table import METHOD_NAMES

GRADCAM_IMAGES = ('skimage:chelsea', 'skimage:coffee', 'skimage:astronaut')
P_HISTORY_FILE = 'p_history.npz'


def _first_seed_dir(runner, run) -> str:
    return runner.unit_dir(run.name, run.seeds[0])


def make_figures(runner, rows: List[dict], delta: float = 1e-3,
                 log: Callable[[str], None] = print) -> Dict[str, str]:
    """Draw every figure the suite's results allow; return name -> PNG."""
    from astro_mm.analysis import (gradcam_compare, plot_et_curves,
                                   plot_p_histograms, plot_params_vs_accuracy)
    out_dir = osp.join(runner.work_dir, 'figures')
    figures = {}
    cls_rows = [r for r in rows if r['task'] == 'cls' and
                r['top1']['mean'] is not None]
    if cls_rows:
        points = []
        for r in cls_rows:
            point = dict(label=f'{r["label"]} ({r["variant"]})',
                         method=METHOD_NAMES[r['method']],
                         params_M=r['params_M'], accuracy=r['top1']['mean'],
                         accuracy_std=r['top1']['std'])
            if {'top1', 'params_M'} <= set(r['paper']):
                point.update(paper_accuracy=r['paper']['top1'],
                             paper_params_M=r['paper']['params_M'])
            points.append(point)
        figures['params_vs_accuracy'] = plot_params_vs_accuracy(
            points, osp.join(out_dir, 'params_vs_accuracy.png'),
            title=runner.cfg.suite.title)
    cls_runs = [run for run in runner.cfg.runs if run.task == 'cls']
    for run in cls_runs:
        history = osp.join(_first_seed_dir(runner, run), P_HISTORY_FILE)
        if run.method in ('astronet', 'manet') and osp.isfile(history):
            figures[f'p_histograms_{run.name}'] = plot_p_histograms(
                history, osp.join(out_dir, f'p_histograms_{run.name}.png'),
                delta=delta)
    astronet = {run.label if run.label != run.name else run.name:
                _first_seed_dir(runner, run)
                for run in cls_runs if run.method == 'astronet'}
    if astronet:
        figures['et_curves'] = plot_et_curves(
            astronet, osp.join(out_dir, 'et_curves.png'))
    plain = [run for run in cls_runs if run.method == 'plain']
    astro = [run for run in cls_runs if run.method in ('astronet', 'manet')]
    if plain and astro:
        models = {}
        for run in (plain[0], astro[0]):
            result = runner.result(run.name, run.seeds[0])
            models[f'{METHOD_NAMES[run.method]} {run.label}'] = (
                osp.join(runner.root, run.config), result['checkpoint'])
        figures['gradcam'] = gradcam_compare(
            models, list(GRADCAM_IMAGES), osp.join(out_dir, 'gradcam.png'))
    for name, path in figures.items():
        log(f'figure {name}: {path}')
    return figures
