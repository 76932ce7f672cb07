"""Budget pruning on real data: does the modulation decide?

Runs the suite ``configs/suites/budget-pruning_fashion-mnist.py`` through
the repo's own tools (train -> prune -> recalibrate -> fine-tune -> test,
resumable) and prints its table. Fashion-MNIST (Debian's
dataset-fashion-mnist), ResNet-20, 3 seeds; every pruned row at the same
parameter budget t = 0.6 and the same fine-tune:

* plain: the unpruned network, given the fine-tune too (the reference);
* random: a random mask on the trained plain network;
* MA-Net, AstroNet: budget-aware (astro_mm's mode), pruned at their gates.

Data and schedule (for 90 minutes on this 2-core CPU): the first 6,000
training images, 4 epochs, a 2-epoch fine-tune at lr 0.01, all 10,000 test
images (see the suite config).

``bimodal`` is the share of MA-Net's prunable units whose P is below 0.05
or above 0.95 at the end of training (mean over seeds); ``params_ratio``
MA-Net's realized backbone parameter ratio (mean over seeds; AstroNet's is
printed in the table). Each top-1 is the mean of the seeds after the
fine-tune. The last line is::

    budget_pruning: target=0.60 params_ratio=<r> top1_plain=<a> top1_manet=<b> top1_astronet=<c> top1_random=<d> bimodal=<e>

Targets: params_ratio <= 0.62, MA-Net within 0.5 points of plain and at
least 1 point above random, bimodal >= 0.9.

Example::

    python benchmarks/budget_pruning.py [--work-dir DIR] [--seeds 0 1 2]
"""
import argparse
import os
import os.path as osp
import statistics
import time

import torch

from astro_mm.apis import load_algorithm
from astro_mm.suite import (SuiteRunner, build_rows, load_suite,
                                prepare_data, to_markdown)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

SUITE = 'configs/suites/budget-pruning_fashion-mnist.py'


def log(message: str) -> None:
    print(f'[budget_pruning {time.strftime("%H:%M:%S")}] {message}',
          flush=True)


def bimodal_share(config: str, checkpoint: str, options) -> float:
    """Share of the modulated units with P < 0.05 or P > 0.95."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        algorithm = load_algorithm(cfg, checkpoint)
        probs = torch.cat([p.detach() for p in algorithm.current_probs()])
    return float(((probs < 0.05) | (probs > 0.95)).float().mean())


def mean(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else float('nan')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir',
                        default='work_dirs/benchmarks/budget_pruning')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='default: the suite\'s (0 1 2)')
    parser.add_argument('--train-size', type=int,
                        help='training images (default: the suite\'s); '
                        'with --epochs, for a quick check of the pipeline')
    parser.add_argument('--epochs', type=int,
                        help='training epochs (default: the suite\'s)')
    parser.add_argument('--finetune-epochs', type=int,
                        help='fine-tune epochs (default: the suite\'s)')
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    cfg = load_suite(SUITE, root=ROOT)
    if args.seeds:
        cfg.suite.seeds = args.seeds
        for run in cfg.runs:
            run.seeds = list(args.seeds)
    if args.finetune_epochs:
        cfg.suite.finetune.epochs = args.finetune_epochs
    overrides = []
    if args.train_size:
        overrides.append(f'train_dataloader.dataset.indices={args.train_size}')
    if args.epochs:
        overrides += [f'train_cfg.max_epochs={args.epochs}',
                      f'param_scheduler.1.T_max={args.epochs}']
    for run in cfg.runs:
        run.cfg_options = list(run.cfg_options) + overrides
    start = time.time()
    prepare_data(cfg.suite.prepare, 'data', log=log)
    runner = SuiteRunner(cfg, args.work_dir, ROOT, log=log)
    results = runner.run()
    print('\n' + to_markdown(cfg, build_rows(cfg, results)), flush=True)

    def finetuned(run, tag=None):
        return mean([r['pruned'][tag]['top1_finetuned'] if tag else
                     r['top1_finetuned'] for r in results[run]])

    manet = runner.runs['manet']
    bimodal = mean([
        bimodal_share(manet.config, r['checkpoint'], manet.cfg_options)
        for r in results['manet']
    ])
    ratio = mean([r['pruned']['gates']['params_ratio']
                  for r in results['manet']])
    astronet_ratio = mean([r['pruned']['gates']['params_ratio']
                           for r in results['astronet']])
    random_ratio = mean([r['pruned']['random']['params_ratio']
                         for r in results['plain']])
    log(f'params ratios: MA-Net {ratio:.4f}, AstroNet {astronet_ratio:.4f}, '
        f'random {random_ratio:.4f}; {(time.time() - start) / 60:.1f} min')
    print(f'budget_pruning: target=0.60 params_ratio={ratio:.4f} '
          f'top1_plain={finetuned("plain"):.2f} '
          f'top1_manet={finetuned("manet", "gates"):.2f} '
          f'top1_astronet={finetuned("astronet", "gates"):.2f} '
          f'top1_random={finetuned("plain", "random"):.2f} '
          f'bimodal={bimodal:.3f}')


if __name__ == '__main__':
    main()
