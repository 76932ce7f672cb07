"""A first real result: plain vs MA-Net ResNet-18 on Fashion-MNIST.

Each arm trains with the same short schedule on the first ``--train-images``
images of the real training set (all 10,000 test images are used), for
``--seeds`` seeds, through tools/train.py and tools/test.py. Finished runs are
skipped on a re-run. Prints a table (top-1 mean +- std over seeds, TNet
params, share of units with P < delta at the end) and saves it as JSON.

Example::

    python tools/prepare_fashion_mnist.py
    python benchmarks/fashion_mnist_study.py --seeds 0 1 2
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ARMS = {
    'plain': 'configs/resnet/resnet18-cifar_1xb128-5e_fashion-mnist.py',
    'manet': 'configs/manet/manet_resnet18-cifar_1xb128-5e_fashion-mnist.py',
    'astronet':
    'configs/astronet/astronet_resnet18-cifar_1xb128-5e_fashion-mnist.py',
}


def tool(*args, log):
    os.makedirs(osp.dirname(log), exist_ok=True)
    with open(log, 'w') as f:
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, stdout=f,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f'{" ".join(args)} failed, see {log}')


def last_scalar(work_dir, key):
    import glob
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    value = None
    for path in files:
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                value = entry.get(key, value)
    return value


def tnet_params(checkpoint):
    from astro_mm.compat import load_checkpoint_file
    state = load_checkpoint_file(checkpoint)['state_dict']
    skip = ('running_mean', 'running_var', 'num_batches_tracked')
    return sum(v.numel() for k, v in state.items()
               if not k.startswith('modulator.') and k not in (
                   'round', 'cached_probs', 'snapshot', 'previous_snapshot')
               and not k.endswith(skip)) / 1e6


def run_arm(arm, seed, args):
    work_dir = osp.join(args.work_dir, f'{arm}_seed{seed}')
    ckpt = osp.join(work_dir, f'epoch_{args.epochs}.pth')
    options = [
        f'randomness.seed={seed}', f'train_cfg.max_epochs={args.epochs}',
        f'train_dataloader.dataset.indices={args.train_images}',
        f'train_dataloader.batch_size={args.batch_size}',
        f'param_scheduler.1.T_max={args.epochs}',
        f'train_cfg.val_begin={args.epochs + 1}'
    ]
    start = time.time()
    if not osp.isfile(ckpt):
        tool('tools/train.py', ARMS[arm], '--work-dir', work_dir,
             '--cfg-options', *options, log=osp.join(work_dir + '.train.log'))
    if not osp.isfile(osp.join(work_dir, 'metrics.json')):
        tool('tools/test.py', ARMS[arm], ckpt, '--work-dir', work_dir,
             log=osp.join(work_dir + '.test.log'))
    with open(osp.join(work_dir, 'metrics.json')) as f:
        top1 = json.load(f)['summary']['cls']['top1']
    row = dict(arm=arm, seed=seed, top1=top1, params_M=tnet_params(ckpt),
               p_below_delta=last_scalar(work_dir, 'p_below_delta'),
               mean_p=last_scalar(work_dir, 'mean_p'),
               minutes=round((time.time() - start) / 60, 1))
    print(json.dumps(row), flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arms', nargs='+', default=['plain', 'manet'])
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--train-images', type=int, default=3000)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--work-dir', default='work_dirs/fashion_mnist_study')
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    from astro_mm.datasets.fashion_mnist import prepare_fashion_mnist
    prepare_fashion_mnist()
    rows = [run_arm(arm, seed, args) for seed in args.seeds for arm in args.arms]
    print(f'\nFashion-MNIST, ResNet-18 (CIFAR variant), {args.train_images} '
          f'train images, {args.epochs} epochs, batch {args.batch_size}; '
          'test: all 10,000 images')
    print('| arm | top-1 (%) mean +- std | seeds | TNet params (M) | '
          'units with P < delta | mean P |')
    print('|---|---|---|---|---|---|')
    summary = {}
    for arm in args.arms:
        mine = [r for r in rows if r['arm'] == arm]
        accs = [r['top1'] for r in mine]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        below = mine[-1]['p_below_delta']
        mean_p = mine[-1]['mean_p']
        summary[arm] = dict(mean=statistics.mean(accs), std=std, runs=mine)
        print(f'| {arm} | {statistics.mean(accs):.2f} +- {std:.2f} | '
              f'{len(accs)} | {mine[-1]["params_M"]:.2f} | '
              f'{"-" if below is None else f"{100 * below:.2f} %"} | '
              f'{"-" if mean_p is None else f"{mean_p:.3f}"} |')
    with open(osp.join(args.work_dir, 'study.json'), 'w') as f:
        json.dump(dict(args=vars(args), summary=summary), f, indent=2)


if __name__ == '__main__':
    main()
