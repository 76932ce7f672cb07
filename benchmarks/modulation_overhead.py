"""Cost of modulation: plain ResNet-18 vs MA-Net (and AstroNet) ResNet-18.

How the time, the weight updates and the memory are measured:
:mod:`astro_mm.analysis.modulation_overhead` (this script is its command
line). The schedule is the AlternationHook's (``--round-unit``,
``--alternation``, ``--round-interval``) with Algorithm 1's warm-up rounds
(``--warmup-rounds``, 10 % of the steps by default).

The last line is::

    modulation_overhead: time_ratio=<x> mem_ratio=<y> w_round_ratio=<a> phi_round_ratio=<b> time_per_w_update_ratio=<c>

(MA-Net / plain: whole-schedule time, peak memory, median step time in
W-rounds, median step time in Phi-rounds, time per TNet weight update over
the whole schedule). Targets on a 2-core CPU: time <= 1.15, memory <= 1.2,
W-round <= 1.05, Phi-round <= 1.25.

Example::

    python benchmarks/modulation_overhead.py --steps 60 --batch-size 64
"""
import argparse

import torch
from mmengine.registry import init_default_scope

import astro_mm  # noqa: F401
from astro_mm.analysis.modulation_overhead import (MODULATORS,
                                                   UNSUPPORTED_UNITS,
                                                   make_batches, run)
from astro_mm.engine import round_schedule


def parse_args(argv=None):
    units = [u for u in round_schedule.ROUND_UNITS
             if u not in UNSUPPORTED_UNITS]
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=60,
                        help='measured steps (warm-up rounds included)')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--round-unit', default='iter', choices=units,
                        help="the AlternationHook's round_unit")
    parser.add_argument('--alternation', default='per_round',
                        choices=round_schedule.ALTERNATIONS,
                        help="the AlternationHook's alternation")
    parser.add_argument('--round-interval', type=int, default=6,
                        help='steps per round')
    parser.add_argument('--warmup-rounds', type=int, default=1,
                        help='R_TN; with the defaults 6 of 60 steps = 10 %%')
    parser.add_argument('--warmup-steps', type=int, default=3,
                        help='unmeasured steps before the schedule')
    parser.add_argument('--distinct-batches', type=int, default=8)
    parser.add_argument('--methods', nargs='+', default=['astronet', 'manet'],
                        choices=sorted(MODULATORS))
    parser.add_argument('--device', default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    init_default_scope('mmpretrain')
    print(f'device {device}, torch {torch.__version__}, threads '
          f'{torch.get_num_threads()}, batch {args.batch_size}, {args.steps} '
          f'steps, round_unit {args.round_unit!r}, alternation '
          f'{args.alternation!r}, round every '
          f'{args.round_interval} steps, R_TN {args.warmup_rounds}',
          flush=True)
    batches = make_batches(args.distinct_batches, args.batch_size)
    results = {m: run(m, args, device, batches) for m in args.methods}
    for method, r in results.items():
        print(f'{method}: ' + ' '.join(f'{k}={v:.3f}' for k, v in r.items()))
    r = results.get('manet', next(iter(results.values())))
    print('modulation_overhead: ' +
          ' '.join(f'{k}={v:.3f}' for k, v in r.items()))


if __name__ == '__main__':
    main()
