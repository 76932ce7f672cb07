"""Export a pruned classifier, or a pruned backbone, to ONNX.

Builds the network of CONFIG at its (pruned) widths, loads CKPT strictly (a
checkpoint whose shapes differ from the config's widths is refused, naming
the key, the layer and both shapes), and writes the eval-mode graph: opset
17, TorchScript exporter, dynamic batch axis, the image size of ``--shape``
(see :mod:`astro_mm.deploy.onnx_export` for why). Its input is the data
preprocessor's output (normalized NCHW float32); its output a classifier's
class scores (``scores``) or, with ``--backbone-only`` and for a detector
config, the backbone's feature maps (``feat0``, ``feat1``, ...). Unless
``--no-verify``, onnxruntime runs the export on random batches of 2 and 3
and its outputs must equal torch's within ``--atol``.

Example::

    python tools/prune.py CONFIG CKPT --budget 0.6 \
        --out work_dirs/pruned/r20.pth
    python tools/deploy/export_onnx.py work_dirs/pruned/r20.py \\
        work_dirs/pruned/r20.pth --shape 28 28
    # a detector's pruned backbone (config of tools/emit_detector_config.py)
    python tools/deploy/export_onnx.py work_dirs/pruned/faster-rcnn_r18-pruned.py \\
        work_dirs/pruned/r18.pth --shape 800 1216
"""
import argparse
import os.path as osp

from mmengine.config import DictAction

from astro_mm.compat import apply_patches
from astro_mm.deploy import OPSET, build_deployable, export_onnx, verify_onnx

# astro_mm's tools run with its compatibility layer (astro_mm.compat)
apply_patches()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the (pruned) classifier config, e.g. '
                        'OUT.py of tools/prune.py, or a detector config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--out', help='the .onnx file (default: CKPT with '
                        '.onnx, _backbone.onnx for a backbone)')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224],
                        metavar=('H', 'W'),
                        help='image size of the graph (default 224 224)')
    parser.add_argument('--backbone-only', action='store_true',
                        help='export the backbone (its feature maps); a '
                        'detector config always exports its backbone')
    parser.add_argument('--opset', type=int, default=OPSET,
                        help=f'ONNX opset (default {OPSET})')
    parser.add_argument('--no-verify', action='store_true',
                        help='do not compare onnxruntime\'s outputs with '
                        'torch\'s')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest difference the check allows')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, as key=value pairs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    deployable = build_deployable(args.config, args.checkpoint,
                                  args.backbone_only, args.cfg_options)
    out = args.out or (osp.splitext(args.checkpoint)[0]
                       + ('_backbone' if deployable.part == 'backbone'
                          else '') + '.onnx')
    export = export_onnx(deployable.module, out,
                         (deployable.in_channels, *args.shape),
                         deployable.part, args.opset)
    what = 'classifier' if export.part == 'model' else 'backbone'
    print(f'wrote {export.path}: the {what} of {args.config}, input '
          f'(batch, {", ".join(map(str, export.input_shape))}), outputs '
          f'{", ".join(export.output_names)}, opset {export.opset}')
    if not args.no_verify:
        diff = verify_onnx(export, deployable.module, atol=args.atol)
        print(f'onnxruntime matches torch at batches 2 and 3: max abs '
              f'difference {diff:.2e} (allowed {args.atol:g})')
    return export


if __name__ == '__main__':
    main()
