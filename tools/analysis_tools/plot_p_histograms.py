"""Plot histograms of P per stage over training, delta marked.

The history is written during training by ``astro_mm.ProbabilityHistoryHook``
(add ``dict(type='astro_mm.ProbabilityHistoryHook', interval=100)`` to
``custom_hooks``). Example::

    python tools/analysis_tools/plot_p_histograms.py \
        work_dirs/manet_resnet18-cifar_8xb16-200e_cifar10/p_history.npz \
        --delta 1e-3 --out work_dirs/figures/p_histograms.png
"""
import argparse

from astro_mm.analysis import plot_p_histograms


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('history', help='p_history.npz in the work dir')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument(
        '--delta', type=float, default=1e-3, help='pruning threshold')
    parser.add_argument(
        '--snapshots',
        type=int,
        default=4,
        help='points of training overlaid per stage')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    print(plot_p_histograms(args.history, args.out, delta=args.delta,
                            num_snapshots=args.snapshots))


if __name__ == '__main__':
    main()
