"""The figures of the converged study's reading, from its archive.

``benchmarks/RESULTS.md`` reads the converged Fashion-MNIST study
(configs/suites/converged-study_fashion-mnist.py) beyond its table: how P
moved, where each pruner cut, and how the budget-aware rows compare with
the standard pruners seed by seed. This script prints those figures from
the committed archive (``benchmarks/runs/converged-study_fashion-mnist``),
so nothing in the reading is computed by hand. It trains nothing.

* P, seed 0, every astro run: mean over the modulated channels at the first
  and last record of ``p_history.npz``, the last record's range and count
  below 0.5, and the largest e^t logged (AstroNet).
* Per-stage removal, seed 0: the share of each stage's prunable parameters
  every prune removed (``removed_per_stage`` of its ``pruned_*.json``).
* Seed by seed, fine-tuned top-1 at each budget: the best standard pruner
  of the seed (chosen after the fact), budget-aware AstroNet and MA-Net,
  and ``cost``.

Last line::

    study_reading: astronet_wins=<w>/<n> manet_wins=<w>/<n> cost_over_astronet=<w>/<n>

(seed-budget pairs in which the row's fine-tuned top-1 is above the best
standard pruner's, and in which ``cost`` is above budget-aware AstroNet.)

Example::

    python benchmarks/study_reading.py
"""
import argparse
import glob
import os.path as osp

from astro_mm.analysis.converged_study import (BUDGETS, STAGES, STANDARD,
                                               finetuned, p_summary,
                                               read_json)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ARCHIVE = osp.join(ROOT, 'benchmarks', 'runs', 'converged-study_fashion-mnist')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--archive', default=ARCHIVE)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args(argv)
    if not osp.isdir(args.archive):
        raise FileNotFoundError(f'no study archive at {args.archive!r}')

    for run in ('astronet', 'manet', 'astronet_b60', 'astronet_b40',
                'manet_b60', 'manet_b40'):
        print(p_summary(args.archive, run))

    print('removed per stage, seed 0 (% of prunable parameters, '
          + ' / '.join(STAGES) + '):')
    for path in sorted(glob.glob(osp.join(args.archive, '*', 'seed0',
                                          'pruned_*.json'))):
        removed = read_json(path)['removed_per_stage']
        print(f'  {osp.relpath(path, args.archive)}: ' + ' / '.join(
            f'{100 * removed.get(s, 0.):.0f}' for s in STAGES))

    wins = dict(astronet=0, manet=0, cost=0)
    pairs = 0
    for budget in BUDGETS:
        for seed in args.seeds:
            best, name = max((finetuned(args.archive, 'plain', seed,
                                        f'{m}_{budget}'), m)
                             for m in STANDARD)
            astro = finetuned(args.archive, f'astronet_b{budget}', seed,
                              f'b{budget}')
            manet = finetuned(args.archive, f'manet_b{budget}', seed,
                              f'b{budget}')
            cost = finetuned(args.archive, 'plain', seed, f'cost_{budget}')
            print(f'budget 0.{budget} seed {seed}: best standard {name} '
                  f'{best:.2f}; AstroNet {astro:.2f} ({astro - best:+.2f}), '
                  f'MA-Net {manet:.2f} ({manet - best:+.2f}), cost '
                  f'{cost:.2f} ({cost - astro:+.2f} over AstroNet)')
            pairs += 1
            wins['astronet'] += astro > best
            wins['manet'] += manet > best
            wins['cost'] += cost > astro
    print(f'study_reading: astronet_wins={wins["astronet"]}/{pairs} '
          f'manet_wins={wins["manet"]}/{pairs} '
          f'cost_over_astronet={wins["cost"]}/{pairs}', flush=True)


if __name__ == '__main__':
    main()
