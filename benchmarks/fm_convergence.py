"""Is the converged study's plain network converged?

The study (configs/suites/converged-study_fashion-mnist.py) trains ResNet-20
(stride-2 stem) on all of Fashion-MNIST for 4 epochs. Issue "Real data
answers the question" asks for >= 90 % top-1 on the 10,000 test images and
for a result within 1 point of the same network trained twice as long. This
script trains the plain config through tools/train.py and tests it through
tools/test.py, seed by seed:

* ``4e``: the study's schedule (4 epochs, no augmentation);
* ``8e``: twice as long (8 epochs, the cosine stretched to 8);
* ``4e_aug``: the study's schedule with the random crop (padding 2) and
  horizontal flip of the longer Fashion-MNIST configs: why the study trains
  without them.

Each run's result is kept in ``WORK_DIR/<run>_seed<s>/result.json``; a
re-run skips finished runs and resumes an interrupted training. The last
line is::

    fm_convergence: top1_4e=<a> top1_8e=<b> gap=<b-a> top1_4e_aug=<c>

(means over the seeds; nan for a run not done yet).

Example::

    python benchmarks/fm_convergence.py [--seeds 0] [--runs 4e 8e 4e_aug]
"""
import argparse
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from astro_mm.compat import atomic_write_bytes  # noqa: E402

CONFIG = 'configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py'
# the 4e_aug run's config: the study's, with the longer schedules'
# augmentation (the plain config keeps it as ``augmentation``)
AUGMENTED_CONFIG = f"""_base_ = '{osp.join(ROOT, CONFIG)}'
train_pipeline = _base_.augmentation + [dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
"""
RUNS = {
    '4e': [],
    '8e': ['train_cfg.max_epochs=8', 'train_cfg.val_interval=8',
           'param_scheduler.1.T_max=8'],
    '4e_aug': [],
}


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


def run_one(name: str, seed: int, work_root: str) -> float:
    """Train and test one run; its top-1 (kept in result.json)."""
    work_dir = osp.join(work_root, f'{name}_seed{seed}')
    result_file = osp.join(work_dir, 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            return json.load(f)['top1']
    os.makedirs(work_dir, exist_ok=True)
    config = CONFIG
    if name == '4e_aug':
        config = osp.join(work_dir, 'augmented_config.py')
        atomic_write_bytes(AUGMENTED_CONFIG.encode(), config)
    options = [f'randomness.seed={seed}'] + RUNS[name]
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
    atomic_write_bytes(json.dumps(dict(
        run=name, seed=seed, top1=top1, checkpoint=checkpoint,
        minutes=round((time.time() - start) / 60, 2))).encode(), result_file)
    log(f'{name} seed {seed}: top-1 {top1:.2f}')
    return top1


def done_top1(name: str, seeds, work_root: str) -> float:
    values = []
    for seed in seeds:
        path = osp.join(work_root, f'{name}_seed{seed}', 'result.json')
        if not osp.isfile(path):
            return math.nan
        with open(path) as f:
            values.append(json.load(f)['top1'])
    return statistics.mean(values)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir',
                        default='work_dirs/benchmarks/fm_convergence')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--runs', nargs='+', choices=sorted(RUNS),
                        default=list(RUNS),
                        help='which runs to train now (the last line reads '
                        'every run that is done)')
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    for name in args.runs:
        for seed in args.seeds:
            run_one(name, seed, args.work_dir)
    top1 = {name: done_top1(name, args.seeds, args.work_dir) for name in RUNS}
    for name, value in top1.items():
        if math.isnan(value):
            log(f'WARNING: {name} is not done for every seed; printed as nan')
    print(f'fm_convergence: top1_4e={top1["4e"]:.2f} '
          f'top1_8e={top1["8e"]:.2f} gap={top1["8e"] - top1["4e"]:.2f} '
          f'top1_4e_aug={top1["4e_aug"]:.2f}', flush=True)


if __name__ == '__main__':
    main()
