"""Plot AstroNet's e^t over training, one curve per run (supp. Fig. 4).

Example::

    python tools/analysis_tools/plot_et_curves.py \
        --run lambda=1e-3 work_dirs/astronet_resnet18-cifar_8xb16-200e_cifar10 \
        --run lambda=1e-1 work_dirs/astronet-lambda1e-1_resnet18-cifar_8xb16-200e_cifar10 \
        --out work_dirs/figures/et_curves.png
"""
import argparse

from astro_mm.analysis import plot_et_curves


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--run',
        nargs=2,
        action='append',
        required=True,
        metavar=('LABEL', 'WORK_DIR'),
        help='a curve: its legend label and the work dir of the run '
        '(repeat for several runs)')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument('--title', default=r'AstroNet $e^t$')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    print(plot_et_curves(dict(args.run), args.out, title=args.title))


if __name__ == '__main__':
    main()
