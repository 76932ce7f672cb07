"""Physically prune a trained AstroNet / MA-Net checkpoint.

Removes the units with P < delta (inner channels of residual blocks,
DenseNet bottleneck channels, transformer FFN neurons and heads), folds
the remaining P into the weights, and writes:

* ``OUT`` (.pth): a standard checkpoint of the plain, smaller classifier
  (``state_dict`` keys as mmpretrain's, ``meta.pruned_widths``);
* ``OUT`` with .py: its config (the backbone is ``astro_mm.PrunedBackbone``
  with those widths), for ``tools/test.py`` and fine-tuning;
* ``OUT`` with .json: the prune report (params and FLOPs before / after,
  share removed per stage, measured latency), also printed.

Detector configs take the pruned backbone with
``backbone=dict(type='astro_mm.PrunedResNet', base=..., widths=OUT,
init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.'))``.

Example::

    python tools/prune.py configs/manet/manet_resnet18-cifar_1xb64-3e_demo-cifar.py \\
        work_dirs/manet_resnet18-cifar_1xb64-3e_demo-cifar/epoch_3.pth \\
        --param-budget 0.6 --out work_dirs/pruned/manet_r18.pth
"""
import argparse
import copy
import io
import json
import os.path as osp

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import DefaultScope

import astro_mm  # noqa: F401
from astro_mm.compat import atomic_write_bytes, load_checkpoint_file
from astro_mm.models.modulation import unmodulated_copy
from astro_mm.models.pruning import export_pruned
from astro_mm.models.pruning.report import compare, format_report
from astro_mm.registry import MODELS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the astro config the run trained')
    parser.add_argument('checkpoint', help='its checkpoint')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--threshold', type=float, default=1e-3,
                       help='delta: units with P < delta are removed')
    group.add_argument('--param-budget', type=float,
                       help='instead of delta: share of backbone parameters '
                       'to keep, e.g. 0.6')
    parser.add_argument('--out', required=True, help='output checkpoint .pth')
    parser.add_argument('--round-to', type=int, default=1,
                        help='round pruned widths up to multiples of this '
                        '(e.g. 8 for GPU tensor cores)')
    parser.add_argument('--input-size', type=int, default=32,
                        help='image size for FLOPs and latency')
    parser.add_argument('--latency-repeats', type=int, default=10)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='overrides of the config as in tools/train.py (those the run '
        'trained with); they carry into the pruned config written next to OUT')
    return parser.parse_args(argv)


def load_algorithm(cfg: Config, checkpoint: str):
    """Build the config's model and load the checkpoint into it."""
    if not str(cfg.model.get('type', '')).endswith('AlternatingAlgorithm'):
        raise ValueError(
            f'the model of this config is {cfg.model.get("type")}, not an '
            'astro_mm.AlternatingAlgorithm: there is no P to prune by')
    model_cfg = copy.deepcopy(cfg.model)
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    algorithm = MODELS.build(model_cfg)
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    algorithm.load_state_dict(state.get('state_dict', state))
    return algorithm.eval()


def pruned_config(cfg: Config, widths: dict, checkpoint: str) -> Config:
    """The plain classifier config with the pruned backbone."""
    arch = copy.deepcopy(cfg.model.architecture)
    arch.backbone = ConfigDict(type='astro_mm.PrunedBackbone',
                               base=arch.backbone, widths=widths)
    out = copy.deepcopy(cfg)
    out.model = arch
    out.load_from = checkpoint
    out.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if 'AlternationHook' not in str(h.get('type'))]
    out.pop('model_wrapper_cfg', None)
    if 'tnet' in cfg.optim_wrapper:
        out.optim_wrapper = ConfigDict(
            type='OptimWrapper', optimizer=cfg.optim_wrapper.tnet.optimizer)
    return out


def main(argv=None):
    args = parse_args(argv)
    if not args.out.endswith('.pth'):
        raise ValueError(f'--out must end with .pth, got {args.out}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        algorithm = load_algorithm(cfg, args.checkpoint)
        result = export_pruned(algorithm, threshold=args.threshold,
                               param_budget=args.param_budget,
                               round_to=args.round_to)
        plain = unmodulated_copy(algorithm.architecture.backbone)
        # timed in channels-last, the faster format for CPU inference (as
        # benchmarks/pruning_speedup.py); copies keep the export untouched
        report = compare(plain, copy.deepcopy(result.model.backbone),
                         args.input_size, repeats=args.latency_repeats,
                         channels_last=True)
    report.update(threshold=result.threshold, param_budget=args.param_budget,
                  config=args.config, checkpoint=args.checkpoint)
    buffer = io.BytesIO()
    torch.save(dict(state_dict=result.model.state_dict(),
                    meta=dict(pruned_widths=result.widths,
                              threshold=result.threshold,
                              source_config=args.config,
                              source_checkpoint=args.checkpoint)), buffer)
    atomic_write_bytes(buffer.getvalue(), args.out)
    stem = args.out[:-len('.pth')]
    pruned_config(cfg, result.widths, args.out).dump(stem + '.py')
    atomic_write_bytes(json.dumps(report, indent=2).encode(), stem + '.json')
    print(format_report(report))
    print(f'delta = {result.threshold:.6g}; wrote {args.out}, {stem}.py, '
          f'{stem}.json')
    return report


if __name__ == '__main__':
    main()
