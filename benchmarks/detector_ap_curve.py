"""AP against training iterations of the demo detectors (plain backbone).

Each detector trains once on the demo COCO set (through ``tools/train.py``),
evaluated on the demo val set every ``--eval-every`` iterations; the AP of
each evaluation (box AP for Faster R-CNN and DETR, mask AP for CondInst and
BoxInst, as in the demo's table) is read back from mmengine's
``vis_data/scalars.json``. The curve tells the cheapest schedule at which a
detector reaches a given AP (the demo's target is 5.0), and what a longer
schedule would buy. ``dino`` and ``conditional_detr`` are not demo rows:
DETR's faster-converging successors, for comparison with DETR on the same
data.

The backbone is the demo's plain classification checkpoint
(``configs/resnet/resnet18_1xb64-3e_demo-cifar.py``; train it first, or pass
``--pretrained``). The demo data must exist (``tools/generate_demo_data.py``).

The last line is::

    detector_ap_curve: <detector>=<AP at iteration i1>/<AP at i2>/... ... iters=<i1>/<i2>/...

Example::

    python benchmarks/detector_ap_curve.py --iters 400 --eval-every 100
    python benchmarks/detector_ap_curve.py --detectors detr --iters 1200 \\
        --eval-every 300 --cfg-options model.num_queries=20 \\
        model.test_cfg.max_per_img=20 model.encoder.num_layers=2 \\
        model.decoder.num_layers=2 optim_wrapper.optimizer.lr=2e-4

(DETR keeps at most ``num_queries`` boxes per image: fewer
queries need ``max_per_img`` lowered with them, or its top-k fails.)

``--overfit N`` trains and evaluates on the first N training images only:
whether the detector can fit what it sees, which tells a broken pipeline
from a schedule too short for the val set.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from astro_mm.analysis.detector_ap_curve import (overfit_options, read_curve,
                                                 step_decay_options)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# name -> (config, the metric the demo's table reports)
DETECTORS = {
    'faster_rcnn': ('configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py',
                    'bbox'),
    'detr': ('configs/detr/detr_r18_200i_demo-coco.py', 'bbox'),
    'condinst': ('configs/condinst/condinst_r18_fpn_200i_demo-coco.py',
                 'segm'),
    'boxinst': ('configs/boxinst/boxinst_r18_fpn_200i_demo-coco.py', 'segm'),
    # not demo rows: DETR's faster-converging successors, for comparison
    'dino': ('configs/dino/dino-4scale_r18_adamw-1200i_demo-coco.py', 'bbox'),
    'conditional_detr': (
        'configs/conditional_detr/'
        'conditional-detr_r18_adamw-1200i_demo-coco.py',
        'bbox'),
}


def log(message: str) -> None:
    print(f'[ap-curve {time.strftime("%H:%M:%S")}] {message}', flush=True)


def train(name: str, args) -> dict:
    config, metric = DETECTORS[name]
    config = args.config or config
    work_dir = osp.join(args.work_dir, name)
    options = [
        f'train_cfg.max_iters={args.iters}',
        f'train_cfg.val_interval={args.eval_every}',
        f'default_hooks.checkpoint.interval={args.iters}',
        'randomness.seed=0',
    ] + step_decay_options(config, args.iters)
    if args.pretrained:
        options.append(f'model.backbone.init_cfg.checkpoint={args.pretrained}')
    if args.overfit:
        options += overfit_options(config, work_dir, args.overfit)
    options += args.cfg_options
    os.makedirs(work_dir, exist_ok=True)
    start = time.time()
    log(f'{name}: {args.iters} iterations, evaluated every '
        f'{args.eval_every} (log: {work_dir}/train.log)')
    with open(osp.join(work_dir, 'train.log'), 'w') as out:
        proc = subprocess.run(
            [sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
             '--cfg-options'] + options,
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f'{name}: tools/train.py exited {proc.returncode}; '
                           f'see {work_dir}/train.log')
    curve = read_curve(work_dir, metric, args.eval_every)
    minutes = (time.time() - start) / 60
    log(f'{name} ({metric} AP): ' +
        ', '.join(f'{ap} at {it}' for it, ap in sorted(curve.items())) +
        f'; {minutes:.1f} min')
    return dict(metric=metric, curve=curve, minutes=round(minutes, 2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--detectors', nargs='+', default=list(DETECTORS),
                        choices=list(DETECTORS))
    parser.add_argument('--iters', type=int, default=400)
    parser.add_argument('--eval-every', type=int, default=100)
    parser.add_argument('--pretrained',
                        help='backbone checkpoint (default: the configs\')')
    parser.add_argument('--config',
                        help='a variant config of the one detector given '
                        'to --detectors (default: its demo config)')
    parser.add_argument('--work-dir',
                        default='work_dirs/benchmarks/detector_ap_curve')
    parser.add_argument('--overfit', type=int, metavar='N',
                        help='train and evaluate on the first N training '
                        'images only (a pipeline check, not a curve of the '
                        'val set)')
    parser.add_argument('--cfg-options', nargs='*', default=[],
                        help='key=value overrides for every detector')
    args = parser.parse_args(argv)
    if args.iters % args.eval_every:
        parser.error('--iters must be a multiple of --eval-every')
    if args.config and len(args.detectors) != 1:
        parser.error('--config names the config of one detector: give '
                     f'exactly one to --detectors, got {args.detectors}')
    if args.config and not osp.isfile(osp.join(ROOT, args.config)):
        parser.error(f'--config: no such file {args.config}')
    os.chdir(ROOT)
    results = {name: train(name, args) for name in args.detectors}
    with open(osp.join(args.work_dir, 'curves.json'), 'w') as f:
        json.dump(dict(args=vars(args), results=results), f, indent=2)
    steps = list(range(args.eval_every, args.iters + 1, args.eval_every))
    parts = [
        f'{name}=' + '/'.join(str(r['curve'].get(s, 'nan')) for s in steps)
        for name, r in results.items()
    ]
    print('detector_ap_curve: ' + ' '.join(parts) + ' iters=' +
          '/'.join(map(str, steps)))


if __name__ == '__main__':
    main()
