"""Train a model from a config, as mmdet's / mmpretrain's tools/train.py.

Example::

    python tools/train.py configs/resnet/resnet18_1xb64-3e_demo-cifar.py
    python tools/train.py CONFIG --resume            # continue the last run
    bash tools/dist_train.sh CONFIG 2                # torchrun, 2 processes
"""
import argparse

import torch

from astro_mm.apis import (add_common_args, build_runner, load_config,
                           release_dist)
from astro_mm.compat import apply_patches

# astro_mm's tools run with its compatibility layer (astro_mm.compat)
apply_patches()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the LR by the actual batch size (auto_scale_lr in config)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    if args.amp:
        if torch.cuda.is_available():
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
        else:  # mmengine's AmpOptimWrapper needs a GPU
            cfg.optim_wrapper.type = 'astro_mm.AutocastOptimWrapper'
            cfg.optim_wrapper.dtype = 'bfloat16'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError(
                f'--auto-scale-lr needs auto_scale_lr.base_batch_size in '
                f'{args.config}')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    runner = build_runner(cfg)
    runner.train()
    del runner  # its DDP wrapper holds the process group
    release_dist()


if __name__ == '__main__':
    main()
