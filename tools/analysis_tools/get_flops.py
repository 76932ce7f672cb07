"""FLOPs and params of a config's network, as mmdet's / mmpretrain's
tools/analysis_tools/get_flops.py.

Builds the network the config deploys (a classifier, the TNet of an astro
config, or a detector), optionally with the pruned backbone of a
``tools/prune.py`` checkpoint (``--pruned``: its widths, its neck widths
after a coupled prune, its tensors), and counts one forward on one image of
``--shape`` (random; a detector's is padded as its data preprocessor pads,
and its second stage sees the proposals random weights give) with
astro_mm's counter (:mod:`astro_mm.pruning.report`: mmengine's
``FlopAnalyzer``, multiply-adds of the matrix products, attention's
included; 1 MAC = 1 FLOP). Prints the FLOPs and params of the whole network
and of its backbone, and the backbone's FLOPs in a FLOPs budget's measure
(its convs and linears, what ``tools/prune.py --measure flops`` budgets).

Example::

    python tools/analysis_tools/get_flops.py \\
        configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py \\
        --shape 28
    python tools/analysis_tools/get_flops.py \\
        configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py \\
        --pruned work_dirs/pruned/r20_l1_f60.pth --shape 28
    python tools/analysis_tools/get_flops.py \\
        configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py \\
        --pruned work_dirs/pruned/r18.pth --shape 800 1333
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config, DictAction

from astro_mm.suite.complexity import (config_complexity, format_complexity,
                                       is_detector_config)
from astro_mm.compat import apply_patches

# astro_mm's tools run with its compatibility layer (astro_mm.compat)
apply_patches()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a classifier, astro or detector '
                        'config (or the pruned config tools/prune.py '
                        'writes)')
    parser.add_argument('--pruned', metavar='CKPT',
                        help='a checkpoint of tools/prune.py: count the '
                        'config\'s network with its pruned backbone')
    parser.add_argument('--shape', type=int, nargs='+', metavar='SIZE',
                        help='input image size: H W, or one size for a '
                        'square (default: 224 for a classifier, 800 1333 '
                        'for a detector)')
    parser.add_argument('--json', metavar='FILE',
                        help='also write the counts as JSON')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, as in tools/train.py')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error(f'--shape takes H W or one size, got {args.shape}')
    return args


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config} does not exist')
    if args.pruned is not None and not osp.isfile(args.pruned):
        raise FileNotFoundError(f'--pruned {args.pruned} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = args.shape or ([800, 1333] if is_detector_config(cfg) else [224])
    result = config_complexity(cfg, shape if len(shape) == 2 else shape[0],
                               pruned=args.pruned)
    result.update(config=args.config, pruned=args.pruned)
    print(format_complexity(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
