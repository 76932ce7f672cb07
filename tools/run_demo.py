"""The main job on the embedded demo data, end to end.

generate demo data -> pretrain the plain ResNet-18 -> train Faster R-CNN,
DETR, CondInst and BoxInst briefly with that backbone swapped in -> evaluate
with COCO AP -> one table, printed and saved as markdown + JSON under
``work_dirs/demo/``.

Every stage goes through the same ``tools/train.py`` / ``tools/test.py`` a
user runs, in a subprocess with its log under the stage's work dir. A stage
whose output already exists is skipped, so re-running after an interruption
continues where it stopped (``--force`` starts over).

Example::

    python tools/run_demo.py                 # the README's first command runs this
    python tools/run_demo.py --det-iters 50  # quicker, for a smoke run
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

PRETRAIN_CONFIG = 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py'
DETECTORS = [
    ('Faster R-CNN', 'bbox', 'configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py'),
    ('DETR', 'bbox', 'configs/detr/detr_r18_200i_demo-coco.py'),
    ('CondInst', 'segm', 'configs/condinst/condinst_r18_fpn_200i_demo-coco.py'),
    ('BoxInst', 'segm', 'configs/boxinst/boxinst_r18_fpn_200i_demo-coco.py'),
]
COLUMNS = ('AP', 'AP50', 'AP75', 'AP_S', 'AP_M', 'AP_L')


def log(msg: str) -> None:
    print(f'[demo {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def run_tool(args, log_file: str) -> None:
    """Run a tool of this repo, its output going to ``log_file``."""
    os.makedirs(osp.dirname(log_file), exist_ok=True)
    cmd = [sys.executable] + args
    with open(log_file, 'w') as f:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_file) as f:
            tail = ''.join(f.readlines()[-30:])
        raise RuntimeError(
            f'{" ".join(args)} failed (exit {proc.returncode}); last lines of '
            f'{log_file}:\n{tail}')


def count_params(checkpoint: str):
    """Parameters (M) of the whole model and of its backbone."""
    from astro_mm.compat import load_checkpoint_file
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    total = sum(v.numel() for k, v in state.items()
                if not k.endswith(('running_mean', 'running_var',
                                   'num_batches_tracked')))
    backbone = sum(v.numel() for k, v in state.items()
                   if k.startswith('backbone.') and not k.endswith((
                       'running_mean', 'running_var', 'num_batches_tracked')))
    return round(total / 1e6, 2), round(backbone / 1e6, 2)


def pretrain(work_root: str, epochs: int) -> dict:
    work_dir = osp.join(work_root, 'pretrain_resnet18')
    ckpt = osp.join(work_dir, f'epoch_{epochs}.pth')
    if not osp.isfile(ckpt):
        log(f'pretraining ResNet-18 on the demo classification set '
            f'({epochs} epochs; log: {work_dir}/train.log)')
        run_tool([
            'tools/train.py', PRETRAIN_CONFIG, '--work-dir', work_dir,
            '--cfg-options', f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.1.T_max={epochs}'
        ], osp.join(work_dir, 'train.log'))
    else:
        log(f'pretraining done before: {ckpt}')
    metrics_file = osp.join(work_dir, 'metrics.json')
    if not osp.isfile(metrics_file):
        run_tool(['tools/test.py', PRETRAIN_CONFIG, ckpt, '--work-dir',
                  work_dir], osp.join(work_dir, 'test.log'))
    with open(metrics_file) as f:
        top1 = json.load(f)['summary']['cls']['top1']
    params, _ = count_params(ckpt)
    log(f'ResNet-18 demo top-1 {top1:.2f} %, {params} M params')
    return dict(model='ResNet-18 (plain)', task='cls', checkpoint=ckpt,
                params_M=params, top1=top1)


def detect(name: str, iou_type: str, config: str, pretrained: str,
           work_root: str, iters: int) -> dict:
    stem = osp.splitext(osp.basename(config))[0]
    work_dir = osp.join(work_root, stem)
    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    options = [
        f'model.backbone.init_cfg.checkpoint={pretrained}',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_begin={iters + 1}',
        f'default_hooks.checkpoint.interval={iters}'
    ]
    start = time.time()
    if not osp.isfile(ckpt):
        log(f'{name}: training {iters} iterations (log: {work_dir}/train.log)')
        run_tool(['tools/train.py', config, '--work-dir', work_dir,
                  '--cfg-options'] + options, osp.join(work_dir, 'train.log'))
    metrics_file = osp.join(work_dir, 'metrics.json')
    if not osp.isfile(metrics_file):
        log(f'{name}: evaluating on demo val (COCO {iou_type} AP)')
        run_tool(['tools/test.py', config, ckpt, '--work-dir', work_dir,
                  '--cfg-options', options[0]],
                 osp.join(work_dir, 'test.log'))
    with open(metrics_file) as f:
        summary = json.load(f)['summary']
    params, backbone_params = count_params(ckpt)
    row = dict(model=name, task=iou_type, checkpoint=ckpt, params_M=params,
               backbone_params_M=backbone_params,
               minutes=round((time.time() - start) / 60, 1))
    row.update({k: summary.get(iou_type, {}).get(k, 0.0) for k in COLUMNS})
    if iou_type == 'segm':
        row['box_AP'] = summary.get('bbox', {}).get('AP', 0.0)
    if all(row[k] == 0.0 for k in COLUMNS):
        log(f'WARNING: {name}: every AP is 0 after {iters} iterations (too '
            'short a schedule for it; see its test.log)')
    log(f'{name}: {iou_type} AP {row["AP"]:.2f}')
    return row


def to_markdown(pretrained: dict, rows) -> str:
    lines = [
        '| model | task | params (M) | backbone (M) | ' + ' | '.join(COLUMNS)
        + ' | box AP |', '|' + '---|' * (5 + len(COLUMNS))
    ]
    for r in rows:
        cells = ' | '.join(f'{r[k]:.1f}' for k in COLUMNS)
        box = f'{r["box_AP"]:.1f}' if 'box_AP' in r else '-'
        lines.append(f'| {r["model"]} | {r["task"]} | {r["params_M"]:.2f} | '
                     f'{r["backbone_params_M"]:.2f} | {cells} | {box} |')
    head = (f'Backbone: {pretrained["model"]}, demo classification top-1 '
            f'{pretrained["top1"]:.2f} %, {pretrained["params_M"]} M params, '
            'swapped into each detector.\n\n')
    return head + '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data')
    parser.add_argument('--pretrain-epochs', type=int, default=3)
    parser.add_argument('--det-iters', type=int, default=200)
    parser.add_argument('--force', action='store_true',
                        help='delete the previous results and start over')
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if args.force and osp.isdir(args.work_dir):
        import shutil
        shutil.rmtree(args.work_dir)
    start = time.time()

    from astro_mm.datasets import generate_demo_cifar, generate_demo_coco
    log(f'demo data under {args.data_root}/ (generated once, seeded)')
    generate_demo_cifar(osp.join(args.data_root, 'demo_cifar'))
    generate_demo_coco(osp.join(args.data_root, 'demo_coco'))

    pretrained = pretrain(args.work_dir, args.pretrain_epochs)
    rows = []
    for i, (name, iou_type, config) in enumerate(DETECTORS, 1):
        log(f'detector {i}/{len(DETECTORS)}: {name}')
        rows.append(detect(name, iou_type, config, pretrained['checkpoint'],
                           args.work_dir, args.det_iters))

    table = to_markdown(pretrained, rows)
    from astro_mm.compat import atomic_write_bytes
    atomic_write_bytes(table.encode(), osp.join(args.work_dir, 'table.md'))
    atomic_write_bytes(
        json.dumps(dict(pretrain=pretrained, detectors=rows), indent=2).encode(),
        osp.join(args.work_dir, 'table.json'))
    print('\n' + table)
    log(f'done in {(time.time() - start) / 60:.1f} min; table saved to '
        f'{args.work_dir}/table.md and table.json')


if __name__ == '__main__':
    main()
