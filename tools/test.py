"""Evaluate a checkpoint, as mmdet's / mmpretrain's tools/test.py.

Prints the headline metrics (COCO AP, AP50, AP75, AP_S/M/L per IoU type, or
classification accuracy) and saves them to ``WORK_DIR/metrics.json``.

``--split val`` evaluates on the config's validation data instead of its
test data (``val_dataloader`` / ``val_evaluator``): where a config holds a
validation split out of the training set, that is what settings are chosen
on, and the test set stays for the reported figures.

Example::

    python tools/test.py configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py \\
        work_dirs/faster-rcnn_r18_fpn_200i_demo-coco/iter_200.pth
"""
import argparse
import json
import os.path as osp

from mmengine.dist import is_main_process

from astro_mm.apis import (add_common_args, build_runner, load_config,
                           release_dist, use_validation_split)
from astro_mm.compat import apply_patches, atomic_write_bytes
from astro_mm.evaluation import format_summary, summarize_metrics

# astro_mm's tools run with its compatibility layer (astro_mm.compat)
apply_patches()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--metrics-out',
        help='where to save the metrics as JSON '
        '(default: WORK_DIR/metrics.json)')
    parser.add_argument(
        '--split', choices=('test', 'val'), default='test',
        help='evaluate on the config\'s test data (default) or on its '
        'validation data (val_dataloader / val_evaluator)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.split == 'val':
        use_validation_split(cfg, args.config)
    runner = build_runner(cfg)
    metrics = runner.test()
    del runner  # its DDP wrapper holds the process group
    release_dist()
    if not is_main_process():
        return metrics
    summary = summarize_metrics(metrics)
    print(format_summary(summary, title=osp.basename(args.config)))
    out = args.metrics_out or osp.join(cfg.work_dir, 'metrics.json')
    record = dict(
        config=args.config, checkpoint=args.checkpoint, split=args.split,
        summary=summary,
        metrics={k: v for k, v in metrics.items() if not isinstance(v, str)})
    atomic_write_bytes(json.dumps(record, indent=2).encode(), out)
    print(f'metrics saved to {out}')
    return metrics


if __name__ == '__main__':
    main()
