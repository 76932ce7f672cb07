"""Write an mmdet config that uses a pruned backbone.

Takes a checkpoint of ``tools/prune.py`` and any mmdet detector config
(``mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py``, your own, or
astro_mm's) and writes a complete, standalone config: the backbone is
``astro_mm.PrunedBackbone`` with the pruned widths inline and ``init_cfg``
loading the checkpoint's ``backbone.*`` tensors, the neck's
``in_channels`` follow a coupled prune's stage widths, and
``custom_imports`` lists ``astro_mm`` (see
:mod:`astro_mm.pruning.detector_config`). mmdet's own tools run it::

    python tools/emit_detector_config.py work_dirs/pruned/r50.pth \\
        mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py \\
        work_dirs/pruned/faster-rcnn_r50-pruned_fpn_1x_coco.py
    python mmdet/tools/train.py \\
        work_dirs/pruned/faster-rcnn_r50-pruned_fpn_1x_coco.py

``tools/prune.py ... --detector-config DET.py --emit OUT.py`` does the same
right after pruning.
"""
import argparse

from mmengine.config import DictAction

from astro_mm.pruning import emit_detector_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a checkpoint of tools/prune.py')
    parser.add_argument('detector_config',
                        help='the mmdet config to use it in')
    parser.add_argument('out', help='the config to write (.py)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override keys of the detector config first, as in mmdet')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = emit_detector_config(args.checkpoint, args.detector_config,
                               args.out, args.cfg_options)
    print(f'wrote {args.out}: backbone {cfg.model.backbone.base.type} pruned '
          f'from {args.checkpoint}'
          + (f', neck in_channels {list(cfg.model.neck.in_channels)}'
             if 'in_channels' in cfg.model.get('neck', {}) else ''))


if __name__ == '__main__':
    main()
