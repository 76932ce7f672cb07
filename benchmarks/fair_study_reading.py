"""The fair study's reading: tries, choices, rows and paired verdicts.

Reads the fair study's units (configs/suites/fair-study-tuning_fashion-
mnist-holdout5k.py, then fair-study_fashion-mnist-holdout5k.py; by default
from the committed archive) with :mod:`astro_mm.analysis.fair_study`, and
prints, trained nothing:

1. the tuning stage's tries on seed 0 at FLOPs 0.6, each method's fine-tuned
   validation top-1 per setting, and the setting chosen (``--select`` stops
   here: these are the choices the main stage's config must name);
2. per budget (parameters or FLOPs, 0.6 or 0.4), every method's chosen row:
   seeds, fine-tuned test top-1 (mean and sample std), validation top-1,
   the share of parameters and of FLOPs it keeps;
3. per budget, the paired per-seed differences in fine-tuned test top-1 of
   AstroNet against ``gates`` and of AstroNet and MA-Net against the best
   rival, and against the best published method (a standard pruner,
   slimming, group sparsity or prune-early) where the best rival is
   ``gates`` (the non-astro method with the highest mean validation top-1 at
   that budget: chosen on validation, never on test, among the methods
   that have every seed the suite config plans), with the 95 % t
   half-width and the verdict (a win only where the interval excludes 0).
   While some method lacks seeds at FLOPs 0.6 (a study in progress) a
   warning on stderr says the last line is provisional.

Last line (FLOPs budget 0.6)::

    fair_study: units=<n> max_budget_dev=<x> astronet_vs_gates=<d> astronet_vs_gates_ci=<h> astronet_vs_best=<d> astronet_vs_best_ci=<h> manet_vs_best=<d> manet_vs_best_ci=<h>

With ``--all-pairs`` it also pairs AstroNet, MA-Net and ``gates`` with
every other method of each budget (unadjusted intervals: context, not the
verdict). With ``--figure PNG`` it also draws every chosen row's test
top-1 against the share of parameters and of FLOPs it keeps, side by side
(:func:`astro_mm.analysis.plot_accuracy_vs_kept`).

Example::

    python benchmarks/fair_study_reading.py [--folder DIR] [--suite CONFIG]
        [--select] [--all-pairs] [--figure PNG]
"""
import argparse
import glob
import os.path as osp
import statistics
import sys

from astro_mm.analysis import plot_accuracy_vs_kept
from astro_mm.analysis.fair_study import (by_method, best_rival,
                                          choose_settings, chosen_rows,
                                          compare, lacking_seeds,
                                          planned_rows, read_rows)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ARCHIVE = osp.join(ROOT, 'benchmarks', 'runs',
                   'fair-study_fashion-mnist-holdout5k')
SUITE = osp.join(ROOT, 'configs', 'suites',
                 'fair-study_fashion-mnist-holdout5k.py')
BUDGETS = [(measure, budget) for measure in ('flops', 'params')
           for budget in (0.6, 0.4)]


def _fmt(value, digits=2):
    return '-' if value is None else f'{value:.{digits}f}'


def print_choices(choices) -> None:
    print('## Tries on seed 0 at FLOPs 0.6 (fine-tuned validation top-1)\n')
    print('| method | setting | val top-1 (%) | chosen |')
    print('|---|---|---|---|')
    for method, (chosen, _, scores) in sorted(choices.items()):
        for setting, score in sorted(scores.items()):
            print(f'| {method} | {setting} | {score:.2f} | '
                  f'{"yes" if setting == chosen else ""} |')
    print()


def print_rows(table, measure, budget) -> None:
    print(f'## {measure} budget {budget:g}\n')
    print('| method | setting | seeds | top-1 test (%) | top-1 val (%) | '
          'params ratio | FLOPs ratio |')
    print('|---|---|---|---|---|---|---|')
    for method, seeds in sorted(table.items()):
        rows = list(seeds.values())
        tops = [r.top1 for r in rows]
        std = statistics.stdev(tops) if len(tops) > 1 else 0.0
        print(f'| {method} | {rows[0].setting} | {len(rows)} | '
              f'{statistics.mean(tops):.2f} ± {std:.2f} | '
              f'{_fmt(statistics.mean(r.top1_val for r in rows))} | '
              f'{statistics.mean(r.params_ratio for r in rows):.3f} | '
              f'{statistics.mean(r.flops_ratio for r in rows):.3f} |')
    print()


def print_all_pairs(table, measure, budget) -> None:
    """AstroNet, MA-Net and gates against every other method of a budget:
    context for the verdict, which rests on the pairs above (one 95 %
    interval each; across these many pairs about one in twenty excludes 0
    by chance)."""
    print(f'All pairs at {measure} {budget:g} (unadjusted):\n')
    print('| a | b | seeds | a - b (test top-1) | 95 % CI half-width | '
          'verdict |')
    print('|---|---|---|---|---|---|')
    for a in ('astronet', 'manet', 'gates'):
        for b in sorted(table):
            if a not in table or b in ('astronet', 'manet', a):
                continue
            c = compare(table, a, b, measure, budget)
            print(f'| {a} | {b} | {len(c.differences)} | {_fmt(c.mean)} | '
                  f'{_fmt(c.half_width)} | {c.verdict} |')
    print()


def figure_points(table, measure, budget) -> list:
    """One point per method of a budget: its means over seeds."""
    points = []
    for method, seeds in sorted(table.items()):
        rows = list(seeds.values())
        tops = [r.top1 for r in rows]
        points.append(dict(
            method=method, measure=measure, budget=budget,
            params_ratio=statistics.mean(r.params_ratio for r in rows),
            flops_ratio=statistics.mean(r.flops_ratio for r in rows),
            accuracy=statistics.mean(tops),
            accuracy_std=statistics.stdev(tops) if len(tops) > 1 else None))
    return points


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--folder', default=ARCHIVE,
                        help='the study\'s runs folder or archive')
    parser.add_argument('--select', action='store_true',
                        help='print the tuning stage\'s choices only')
    parser.add_argument('--suite', default=SUITE,
                        help='the main stage\'s suite config: the rows it '
                        'will write tell a complete study from one in '
                        'progress')
    parser.add_argument('--all-pairs', action='store_true',
                        help='also pair AstroNet, MA-Net and gates with '
                        'every other method (95 %% intervals not adjusted '
                        'for the many comparisons)')
    parser.add_argument('--figure', metavar='PNG',
                        help='also draw the chosen rows\' test top-1 '
                        'against the parameters and FLOPs they keep')
    args = parser.parse_args(argv)
    rows = read_rows(args.folder)
    if not rows:
        sys.exit(f'no fine-tuned pruned rows under {args.folder}')
    choices = choose_settings(rows)
    print_choices(choices)
    if args.select:
        line = 'fair_study_select: ' + ' '.join(
            f'{method}={chosen}' for method, (chosen, _, _) in
            sorted(choices.items()))
        print(line)
        return line
    rows = chosen_rows(rows, choices)
    planned = planned_rows(args.suite)
    comparisons, provisional, points = {}, {}, []
    for measure, budget in BUDGETS:
        table = by_method(rows, measure, budget)
        if not table:
            continue
        points += figure_points(table, measure, budget)
        print_rows(table, measure, budget)
        best = best_rival(table, planned.get((measure, budget)))
        # the best of the published methods (the pruners, slimming, group
        # sparsity, prune-early): what a reader of a pruning paper asks
        # about when the best rival is astro_mm's own gates
        published = best_rival(table, planned.get((measure, budget)),
                               exclude=('gates', ))
        # (a, b, what the last line calls b): the best rival may be gates
        pairs = [('astronet', 'gates', 'gates'), ('astronet', best, 'best'),
                 ('manet', best, 'best')]
        if published != best:
            pairs += [('astronet', published, 'published'),
                      ('manet', published, 'published')]
        lacking = lacking_seeds(table, planned.get((measure, budget)))
        line = f'Best rival on validation: {best}'
        if lacking:
            provisional[(measure, budget)] = lacking
            to_come = ', '.join(f'{m} (seeds {", ".join(map(str, s))} to '
                                'come)' for m, s in lacking.items())
            line += (' (among the methods with every seed; not yet in the '
                     f'running: {to_come})')
        if published != best:
            line += f'; the best published method: {published}'
        print(line + '\n')
        print('| a | b | seeds | a - b (test top-1) | 95 % CI half-width | '
              'verdict |')
        print('|---|---|---|---|---|---|')
        for a, b, role in pairs:
            c = compare(table, a, b, measure, budget)
            comparisons[(measure, budget, a, role)] = c
            print(f'| {a} | {c.b} | {len(c.differences)} | {_fmt(c.mean)} '
                  f'| {_fmt(c.half_width)} | {c.verdict} |')
        print()
        if args.all_pairs:
            print_all_pairs(table, measure, budget)
    if args.figure and points:
        print('figure: ' + plot_accuracy_vs_kept(
            points, args.figure, budgets=sorted({b for _, b in BUDGETS}),
            title='Fair study: fine-tuned test top-1 of each chosen row '
            '(mean ± sd over seeds) against what it keeps',
            accuracy_label='fine-tuned test top-1 (%)'))
    units = len(glob.glob(osp.join(args.folder, '*', 'seed*',
                                   'result.json')))
    deviation = max(r.budget_deviation for r in rows)

    def value(key, attribute):
        c = comparisons.get(('flops', 0.6) + key)
        # '-' where the pair has no common seed (a row not run yet)
        return _fmt(getattr(c, attribute) if c and c.differences else None,
                    3)

    line = (f'fair_study: units={units} max_budget_dev={deviation:.4f} '
            f'astronet_vs_gates={value(("astronet", "gates"), "mean")} '
            f'astronet_vs_gates_ci={value(("astronet", "gates"), "half_width")} '
            f'astronet_vs_best={value(("astronet", "best"), "mean")} '
            f'astronet_vs_best_ci={value(("astronet", "best"), "half_width")} '
            f'manet_vs_best={value(("manet", "best"), "mean")} '
            f'manet_vs_best_ci={value(("manet", "best"), "half_width")}')
    if ('flops', 0.6) in provisional:
        # the line's figures may change when the missing seeds come
        print('WARNING: provisional, the study is in progress: at FLOPs 0.6 '
              + ', '.join(provisional[('flops', 0.6)]) + ' lack seeds, so '
              'the best rival is chosen without them', file=sys.stderr)
    print(line)
    return line


if __name__ == '__main__':
    main()
