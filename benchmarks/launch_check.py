"""The suite's launchers on a CPU (gloo), with a tiny network: about 2 min.

A ``2xb8`` unit run by the suite with ``--launcher pytorch`` (2 processes,
total batch 16; its first-iteration loss against one process at batch 16),
the same unit through ``--launcher slurm`` against a stand-in ``srun``
(its command line checked), and a ``tools/dist_train.sh`` run brought in
with ``--import`` (:mod:`astro_mm.suite.launch_check`). The last line::

    launch: world_size=2 total_batch=16 loss_diff=<x> slurm_cmd_ok=<0|1> imported_ok=<0|1>

Example::

    python benchmarks/launch_check.py [--work-dir DIR]
"""
import argparse
import json
import os.path as osp
import tempfile

from astro_mm.suite.launch_check import (LOSS_TOLERANCE, check_line,
                                         run_launch_check)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', help='default: a temporary folder')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = run_launch_check(args.work_dir or tmp, ROOT)
        print(figures['table'])
        print(f'srun called as: {json.dumps(figures["srun_call"])}')
        print(f'unit launch record: {json.dumps(figures["launch"])}')
        print(f'loss tolerance: {LOSS_TOLERANCE:g}')
    print(check_line(figures), flush=True)


if __name__ == '__main__':
    main()
