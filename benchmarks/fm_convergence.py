"""Is the converged study's plain network converged?

The study (configs/suites/converged-study_fashion-mnist.py) trains ResNet-20
(stride-2 stem) on all of Fashion-MNIST for E epochs (``--config``: by
default the study's plain config, 5 epochs in bfloat16 autocast). Issue
"Real data answers the question" asks for >= 90 % top-1 on the 10,000 test
images and for a result within 1 point of the same network trained twice as
long. This script trains the plain config through tools/train.py and tests
it through tools/test.py, seed by seed:

* ``1x``: the config's schedule;
* ``2x``: twice as long (2E epochs, the cosine stretched to 2E);
* ``1x_aug``: the config's schedule with the random crop (padding 2) and
  horizontal flip of the longer Fashion-MNIST configs: why the study trains
  without them;
* ``1x_fp32``: the config's schedule with the autocast in float32 (a no-op):
  what bfloat16 costs in top-1, if anything. (On a CPU without native
  bfloat16, AutocastOptimWrapper trains every run in float32: each result
  records the machine, and the script warns.)

Each run's result is kept in ``WORK_DIR/<config>/<run>_seed<s>/result.json``;
a re-run skips finished runs and resumes an interrupted training. Runs go
one at a time, each tool with torch's default threads (``--threads`` to
set them). The last line is::

    fm_convergence: epochs=<E> top1_1x=<a> top1_2x=<b> gap=<b-a> top1_1x_aug=<c> top1_1x_fp32=<d>

(means over the seeds; nan for a run not done yet).

Example::

    python benchmarks/fm_convergence.py [--seeds 0] [--runs 1x 2x]
    python benchmarks/fm_convergence.py --runs 1x 2x \\
        --config configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py
"""
import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time

from astro_mm.analysis.convergence_runs import (AUGMENTED_CONFIG, RUNS,
                                                config_epochs, done_machines,
                                                done_mean, run_options)
from astro_mm.compat import atomic_write_bytes

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/resnet/resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py'


def log(message: str) -> None:
    print(f'[fm_convergence {time.strftime("%H:%M:%S")}] {message}',
          flush=True)


def tool(args, log_file: str) -> None:
    with open(log_file, 'w') as f:
        proc = subprocess.run([sys.executable] + args, cwd=ROOT, stdout=f,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f'{args[0]} exited {proc.returncode}: see '
                           f'{log_file}')


def run_one(name: str, seed: int, work_root: str, config: str,
            epochs: int) -> float:
    """Train and test one run of ``config``; its top-1 (kept in
    result.json)."""
    work_dir = osp.join(work_root, f'{name}_seed{seed}')
    result_file = osp.join(work_dir, 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            return json.load(f)['top1']
    os.makedirs(work_dir, exist_ok=True)
    if name == '1x_aug':
        augmented = osp.join(work_dir, 'augmented_config.py')
        atomic_write_bytes(AUGMENTED_CONFIG.format(
            config=osp.join(ROOT, config)).encode(), augmented)
        config = augmented
    options = [f'randomness.seed={seed}'] + run_options(name, epochs)
    args = ['tools/train.py', config, '--work-dir', work_dir]
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        args.append('--resume')
    start = time.time()
    log(f'{name} seed {seed}: training ({work_dir}/train.log)')
    # validation only by the test below, on the same 10,000 images
    tool(args + ['--cfg-options', 'train_cfg.val_begin=100000'] + options,
         osp.join(work_dir, 'train.log'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    test_dir = osp.join(work_dir, 'test')
    tool(['tools/test.py', config, checkpoint, '--work-dir', test_dir,
          '--cfg-options'] + options, osp.join(work_dir, 'test.log'))
    with open(osp.join(test_dir, 'metrics.json')) as f:
        top1 = json.load(f)['summary']['cls']['top1']
    from astro_mm.suite.runner import machine_record
    atomic_write_bytes(json.dumps(dict(
        run=name, seed=seed, top1=top1, checkpoint=checkpoint,
        machine=machine_record(),
        minutes=round((time.time() - start) / 60, 2))).encode(), result_file)
    log(f'{name} seed {seed}: top-1 {top1:.2f}')
    return top1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=CONFIG,
                        help='the plain config whose schedule is checked')
    parser.add_argument('--work-dir',
                        default='work_dirs/benchmarks/fm_convergence',
                        help='results go to WORK_DIR/<config name>/')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--runs', nargs='+', choices=sorted(RUNS),
                        default=list(RUNS),
                        help='which runs to train now (the last line reads '
                        'every run that is done)')
    parser.add_argument('--threads', type=int,
                        help='threads of each tool (default: torch\'s)')
    args = parser.parse_args(argv)
    if args.threads:  # inherited by the tools this script starts
        os.environ.update(OMP_NUM_THREADS=str(args.threads),
                          MKL_NUM_THREADS=str(args.threads))
    os.chdir(ROOT)
    epochs = config_epochs(args.config, args.runs)
    # as the study does: a fresh clone has no data/fashion_mnist/ yet
    from astro_mm.suite.runner import prepare_data
    prepare_data(['fashion_mnist'], log=log)
    work_root = osp.join(args.work_dir,
                         osp.splitext(osp.basename(args.config))[0])
    for name in args.runs:
        for seed in args.seeds:
            run_one(name, seed, work_root, args.config, epochs)
    top1 = {name: done_mean(name, 'top1', args.seeds, work_root)
            for name in RUNS}
    minutes = {name: done_mean(name, 'minutes', args.seeds, work_root)
               for name in RUNS}
    for name, value in top1.items():
        if math.isnan(value):
            log(f'WARNING: {name} is not done for every seed; printed as nan')
        else:
            log(f'{name}: top-1 {value:.2f}, {minutes[name]:.1f} minutes '
                '(training and test, mean over seeds)')
    machines = {name: done_machines(name, args.seeds, work_root)
                for name in RUNS}
    emulated = sorted(name for name, record in machines.items()
                      if False in record)
    if emulated:
        # AutocastOptimWrapper trained these in float32: 1x is 1x_fp32 there
        log('WARNING: run(s) ' + ', '.join(emulated) + ' ran on a CPU '
            'without native bfloat16, so in float32 (AutocastOptimWrapper\'s '
            'fallback), whatever the config says')
    # only a fair ratio when both ran on an otherwise quiet machine
    log(f'1x_fp32 / 1x minutes: {minutes["1x_fp32"] / minutes["1x"]:.2f}')
    print(f'fm_convergence: epochs={epochs} top1_1x={top1["1x"]:.2f} '
          f'top1_2x={top1["2x"]:.2f} gap={top1["2x"] - top1["1x"]:.2f} '
          f'top1_1x_aug={top1["1x_aug"]:.2f} '
          f'top1_1x_fp32={top1["1x_fp32"]:.2f}', flush=True)


if __name__ == '__main__':
    main()
