"""Scatter parameters (M) vs accuracy (%) of a results table's runs.

The rows come from a JSON file: a list of objects (or ``{"rows": [...]}``)
with ``label``, ``params_M``, ``accuracy`` and optionally ``accuracy_std``,
``method``, ``paper_params_M``, ``paper_accuracy``. Example::

    python tools/analysis_tools/plot_params_vs_accuracy.py work_dirs/tab1/rows.json \
        --title 'MA-Net Tab. 1, CIFAR-10' --out work_dirs/figures/tab1.png
"""
import argparse

from astro_mm.analysis import load_rows, plot_params_vs_accuracy


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('rows', help='JSON file with the table\'s rows')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument('--title', default='Parameters vs accuracy')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    print(plot_params_vs_accuracy(load_rows(args.rows), args.out,
                                  title=args.title))


if __name__ == '__main__':
    main()
