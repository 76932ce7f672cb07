"""The table of the paper-mode sensitivity study: what moves P under the
papers' objective (issue 25, section 3).

Reads the units of configs/suites/paper-mode-sensitivity_fashion-mnist-
holdout5k.py, from its archive (default) or its work dir
(``--root work_dirs/suites/paper-mode-sensitivity_fashion-mnist-
holdout5k``): every ``RUN/seedS`` folder with a ``result.json``. Per unit:

* the final P (the last record of ``p_history.npz``, written by
  ``astro_mm.ProbabilityHistoryHook``), all modulated units together: its
  mean, its standard deviation and the share below delta (the threshold of
  the ``delta`` prune in ``result.json``);
* the ``delta`` prune (``result.json``'s ``pruned.delta``, as
  ``pruned_delta.json`` reports it): the share of the backbone's
  parameters kept, and top-1 after it;
* top-1 of the trained network;
* the last e^t (AstroNet; :func:`astro_mm.analysis.et_curves.read_et_curve`)
  and the last ``loss_reg`` (MA-Net, lambda * L_reg) of the training log.

It trains nothing. Last line::

    paper_sensitivity: units=<n> max_share_below_delta=<x> best_variant=<name>

``best_variant`` is the unit whose delta prune keeps the fewest parameters,
among those that remove any (ties: the higher top-1); ``none`` when delta
removes nothing anywhere. A unit of a seed other than 0 is named
``RUN/seedS``.

Example::

    python benchmarks/paper_mode_sensitivity.py
"""
import argparse
import os.path as osp
from typing import Dict

from astro_mm.analysis.paper_mode_study import (read_study, summary_line,
                                                table_lines)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ARCHIVE = osp.join(ROOT, 'benchmarks', 'runs',
                   'paper-mode-sensitivity_fashion-mnist-holdout5k')


def main(argv=None) -> Dict[str, Dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default=ARCHIVE,
                        help='the suite\'s archive or work dir')
    args = parser.parse_args(argv)
    rows = read_study(args.root)
    print('\n'.join(table_lines(rows)))
    print(summary_line(rows), flush=True)
    return rows


if __name__ == '__main__':
    main()
