"""The figures of a suite, next to its tables (``WORK_DIR/figures/``).

* ``params_vs_accuracy.png``: every classification row (trained and
  pruned; fine-tuned top-1 where the suite fine-tunes), coloured by what
  chose the units, with the Pareto front and the paper's point where the
  suite gives one;
* ``p_histograms_<run>.png``: P per stage over training, delta marked, for
  each astro run whose training recorded a P history
  (``astro_mm.ProbabilityHistoryHook``);
* ``et_curves.png``: e^t over iterations of the AstroNet runs (one curve
  per run: the lambda ablation of AstroNet supp. Fig. 4 when the suite
  varies lambda);
* ``gradcam.png``: Grad-CAM of the plain vs the astro classifiers on the
  same photos (scikit-image's, shipped with the package); classifiers of
  1-channel images (Fashion-MNIST) get none.
"""
import os.path as osp
from typing import Callable, Dict, List

from .table import METHOD_NAMES, PRUNER_NAMES
from astro_mm.analysis import (gradcam_compare, plot_et_curves,
                               plot_p_histograms, plot_params_vs_accuracy)

GRADCAM_IMAGES = ('skimage:chelsea', 'skimage:coffee', 'skimage:astronaut')
P_HISTORY_FILE = 'p_history.npz'


def accuracy_points(cfg, cls_rows: List[dict]) -> List[dict]:
    """The params-vs-accuracy points of a table's classification rows.

    A row's accuracy is its fine-tuned top-1 where it has one (equal
    schedules: the suite gives every pruned row, and the unpruned reference
    that asks for it, the same fine-tune), else its top-1. Points are
    grouped (coloured) by what chose the units: a baseline pruner, or the
    run's method, with the run's label where several runs share a method
    (a paper-faithful and a budget-aware MA-Net); unpruned networks are
    squares.
    """
    labels_of: Dict[str, set] = {}
    for r in cls_rows:
        labels_of.setdefault(r['method'], set()).add(r['label'])
    points = []
    for r in cls_rows:
        tuned = r.get('top1_finetuned') or {}
        stat = tuned if tuned.get('mean') is not None else r['top1']
        pruner = r.get('pruner', r['method'])
        if pruner != r['method']:  # a baseline pruner
            group = PRUNER_NAMES.get(pruner, pruner)
            if r['method'] != 'plain':  # the control on an astro network
                group += f' on {METHOD_NAMES[r["method"]]}'
        else:
            group = METHOD_NAMES[r['method']]
            if len(labels_of[r['method']]) > 1:
                group += f' ({r["label"]})'
        point = dict(label=f'{r["label"]} ({r["variant"]})', method=group,
                     params_M=r['params_M'], accuracy=stat['mean'],
                     accuracy_std=stat['std'],
                     marker='s' if r['variant'] == 'trained' else 'o')
        if {'top1', 'params_M'} <= set(r['paper']):
            point.update(paper_accuracy=r['paper']['top1'],
                         paper_params_M=r['paper']['params_M'])
        points.append(point)
    return points


def _takes_photos(runner, run) -> bool:
    """Whether the run's classifier reads 3-channel images (Fashion-MNIST's
    take 1 channel: a photo of a cat says nothing about them)."""
    from mmengine.config import Config
    model = Config.fromfile(osp.join(runner.root, run.config)).model
    model = model.get('architecture', model)
    return model.get('backbone', {}).get('in_channels', 3) == 3


def _first_seed_dir(runner, run) -> str:
    return runner.unit_dir(run.name, run.seeds[0])


def make_figures(runner, rows: List[dict], delta: float = 1e-3,
                 log: Callable[[str], None] = print,
                 with_checkpoints: bool = True) -> Dict[str, str]:
    """Draw every figure the suite's results allow; return name -> PNG.
    ``with_checkpoints=False`` (``--report``: units restored from an
    archive have no weights) skips the figures that load a model."""
    out_dir = osp.join(runner.work_dir, 'figures')
    figures = {}
    cls_rows = [r for r in rows if r['task'] == 'cls' and
                r['top1']['mean'] is not None]
    if cls_rows:
        figures['params_vs_accuracy'] = plot_params_vs_accuracy(
            accuracy_points(runner.cfg, cls_rows),
            osp.join(out_dir, 'params_vs_accuracy.png'),
            title=runner.cfg.suite.title, pareto=True)
    cls_runs = [run for run in runner.cfg.runs if run.task == 'cls']
    for run in cls_runs:
        history = osp.join(_first_seed_dir(runner, run), P_HISTORY_FILE)
        if run.method in ('astronet', 'manet') and osp.isfile(history):
            figures[f'p_histograms_{run.name}'] = plot_p_histograms(
                history, osp.join(out_dir, f'p_histograms_{run.name}.png'),
                delta=delta)
    # a suite read before it finished (--report) has runs not trained yet
    astronet = {run.label if run.label != run.name else run.name:
                _first_seed_dir(runner, run)
                for run in cls_runs if run.method == 'astronet' and
                osp.isfile(runner.result_file(run.name, run.seeds[0]))}
    if astronet:
        figures['et_curves'] = plot_et_curves(
            astronet, osp.join(out_dir, 'et_curves.png'))
    plain = [run for run in cls_runs if run.method == 'plain']
    astro = [run for run in cls_runs if run.method in ('astronet', 'manet')]
    if plain and astro and not with_checkpoints:
        log('figure gradcam: skipped, it loads checkpoints (--report)')
    elif plain and astro and not _takes_photos(runner, plain[0]):
        log('figure gradcam: skipped, the classifiers do not take RGB '
            'photos (Grad-CAM is drawn on photos of scikit-image)')
    elif plain and astro:
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
