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
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

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


def read_curve(work_dir: str, metric: str, eval_every: int) -> dict:
    """Iteration -> AP (in %) of every evaluation of the latest run in
    ``work_dir``.

    mmengine logs an iteration-based loop's validation at step 0 (the
    epoch), so the evaluations are numbered by their order instead.
    """
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}')
    key = f'coco/{metric}_mAP'
    curve = {}
    with open(runs[-1]) as f:
        for line in f:
            record = json.loads(line)
            if key in record:
                curve[eval_every * (len(curve) + 1)] = round(
                    100 * record[key], 1)
    return curve


def step_decay_options(config: str, iters: int) -> list:
    """Overrides that put the config's step decay at 80 % of ``iters``.

    The SGD demo configs fix it for their 200 iterations (``MultiStepLR``),
    so a run of another length moves it; the AdamW ones already follow
    ``max_iters`` (``astro_mm.ProportionalMultiStepLR``) and need nothing.
    """
    from mmengine.config import Config
    decay = Config.fromfile(config).param_scheduler[1]
    if decay['type'].split('.')[-1] == 'ProportionalMultiStepLR':
        return []
    return [f'param_scheduler.1.end={iters}',
            f'param_scheduler.1.milestones=[{int(iters * 0.8)}]']


def overfit_options(config: str, work_dir: str, num_images: int) -> list:
    """Overrides that train and evaluate on the first ``num_images``
    training images (by image id).

    A pipeline check: a detector that cannot fit a handful of images it is
    evaluated on has a bug (data, matching, loss), not a short schedule.
    The subset's COCO file is written into ``work_dir``.
    """
    from mmengine.config import Config
    dataset = Config.fromfile(config).train_dataloader.dataset
    source = osp.join(dataset.data_root, dataset.ann_file)
    with open(source) as f:
        coco = json.load(f)
    images = sorted(coco['images'], key=lambda image: image['id'])
    if not 1 <= num_images <= len(images):
        raise ValueError(f'--overfit {num_images}: {source} has '
                         f'{len(images)} training images; give 1 to '
                         f'{len(images)}')
    images = images[:num_images]
    kept = {image['id'] for image in images}
    subset = dict(coco, images=images, annotations=[
        a for a in coco['annotations'] if a['image_id'] in kept])
    os.makedirs(work_dir, exist_ok=True)
    path = osp.abspath(osp.join(work_dir,
                                f'instances_train_first{num_images}.json'))
    with open(path, 'w') as f:
        json.dump(subset, f)
    return [f'train_dataloader.dataset.ann_file={path}',
            f'val_dataloader.dataset.ann_file={path}',
            'val_dataloader.dataset.data_prefix.img='
            f'{dataset.data_prefix.img}',
            f'val_evaluator.ann_file={path}']


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
