"""Physically prune a trained AstroNet / MA-Net checkpoint.

Removes the units of the prunable slots with P below the threshold (inner
channels of residual blocks, DenseNet bottleneck channels, transformer FFN
neurons and heads; default threshold: delta in the paper mode, the gate
threshold in the budget-aware mode) or, with ``--budget`` (alias
``--param-budget``; a share of the parameters or, with ``--measure flops``, of
the FLOPs), the units
ranked lowest by P relative to their cost (``--coupled``: the channels of
each ResNet stage's residual stream too, across every layer that writes or
reads them, through Torch-Pruning's dependency graph); folds the remaining
P into the
weights; re-estimates the batch-norm statistics on training batches
(``--recalibrate-batches``, 0 to skip); and writes:

* ``OUT`` (.pth): a standard checkpoint of the plain, smaller classifier
  (``state_dict`` keys as mmpretrain's, ``meta.pruned_widths``, and for a
  ResNet ``meta.stage_widths`` with ``meta.coupled``);
* ``OUT`` with .py: its config (the backbone is ``astro_mm.PrunedBackbone``
  with those widths, ``load_from`` the pruned checkpoint): the fine-tuning
  config, ``python tools/train.py OUT.py`` fine-tunes the pruned network
  (schedule: ``--finetune-epochs``, ``--finetune-lr``), ``tools/test.py
  OUT.py OUT`` evaluates it as pruned;
* ``OUT`` with .json: the prune report (params and FLOPs before / after,
  share removed per stage, measured latency), also printed.

Detector configs take the pruned backbone with
``backbone=dict(type='astro_mm.PrunedResNet', base=..., widths=OUT,
init_cfg=dict(type='Pretrained', _scope_='astro_mm', checkpoint=OUT,
prefix='backbone.'))``; after a coupled prune the neck's ``in_channels``
come from OUT's meta too (``astro_mm.pruning.sync_neck_widths``,
applied by astro_mm's tools). ``--detector-config DET.py --emit OUT_DET.py``
writes DET.py with the pruned backbone as a standalone config that mmdet's
own tools run (widths inline, neck widths set, ``custom_imports`` of
astro_mm; also ``tools/emit_detector_config.py OUT DET.py OUT_DET.py``).

Example::

    python tools/prune.py configs/manet/manet_resnet18-cifar_1xb64-3e_demo-cifar.py \\
        work_dirs/manet_resnet18-cifar_1xb64-3e_demo-cifar/epoch_3.pth \\
        --budget 0.6 --out work_dirs/pruned/manet_r18.pth

A plain network is pruned by a standard pruner (``--method l1`` ...,
:mod:`astro_mm.pruning.baselines`) to ``--budget`` of ``--measure``
(params or FLOPs), ranking its channels by ``--rank group`` (importance
normalized per group, the published pruners' rule) or ``--rank cost`` (per
unit of cost in the budget's measure); ``--seed`` seeds ``random`` (a study
passes each unit's training seed, so every seed draws other channels). The
report JSON records ``budget``, ``measure`` and ``rank``.
"""
import argparse
import json

from mmengine.config import DictAction

from astro_mm.apis import BASELINES, EARLY, prune_checkpoint, prune_summary
from astro_mm.compat import apply_patches
from astro_mm.pruning.baselines import MEASURES, RANKS
from astro_mm.pruning.report import format_report

# astro_mm's tools run with its compatibility layer (astro_mm.compat)
apply_patches()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the astro config the run trained')
    parser.add_argument('checkpoint', help='its checkpoint')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--threshold', type=float,
                       help='units with P below it are removed (default: '
                       'delta in the paper mode, the gate threshold in the '
                       'budget-aware mode)')
    group.add_argument('--budget', '--param-budget', type=float,
                       dest='budget',
                       help='instead of a threshold: share of the backbone\'s '
                       'cost (its parameters, or FLOPs with --measure flops) '
                       'to keep, e.g. 0.6 (--param-budget: the same flag, '
                       'its former name)')
    parser.add_argument('--out', required=True, help='output checkpoint .pth')
    parser.add_argument(
        '--method', choices=('astro', 'none') + BASELINES + (EARLY, ),
        help='what ranks the units: astro (an astro config\'s P, the '
        'default there), none (keep every unit: the unpruned network with '
        'the same fine-tune config), a baseline pruner of a plain '
        'network (with --budget), or early (remove the channels '
        'astro_mm.EarlyPruningHook held dead in training: the '
        'checkpoint\'s meta.early_pruning)')
    parser.add_argument('--coupled', action='store_true',
                        help='also prune the channels of each stage\'s '
                        'residual stream (block outputs, shortcuts, the next '
                        'stage\'s inputs), ResNets only: the stage widths '
                        'shrink and go to the checkpoint\'s meta, where the '
                        'detectors\' necks read them')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random baseline (a study passes '
                        'the unit\'s training seed)')
    parser.add_argument('--round-to', type=int, default=1,
                        help='round pruned widths up to multiples of this '
                        '(e.g. 8 for GPU tensor cores)')
    parser.add_argument('--min-keep', type=float,
                        help='share of every prunable layer\'s units always '
                        'kept (default: the budget-aware mode\'s, else one '
                        'unit)')
    parser.add_argument('--measure', '--cost', dest='measure',
                        choices=MEASURES, default='params',
                        help='the budget\'s measure, for astro and baselines '
                        'alike: the backbone\'s parameters, or its FLOPs '
                        '(multiply-adds of its convs and linears for one '
                        '--input-size image: a CNN\'s flops_ratio in the '
                        'report; a transformer\'s report adds attention\'s '
                        'products, and prints its conv+linear line)')
    parser.add_argument('--rank', choices=RANKS,
                        help='baselines: how channels are ranked, group '
                        '(importance normalized per group) or cost (that per '
                        'unit of cost in --measure); default the method\'s own '
                        '(cost for the cost control, group for the others). '
                        'Astro ranks P per unit of cost and takes no --rank')
    parser.add_argument('--recalibrate-batches', type=int, default=50,
                        help='training batches to re-estimate batch-norm '
                        'statistics on after pruning (0: keep them)')
    parser.add_argument('--finetune-epochs', type=int,
                        help='schedule of the fine-tuning config written '
                        'next to OUT: epochs, cosine decay (default: the '
                        'training config\'s schedule)')
    parser.add_argument('--finetune-lr', type=float,
                        help='learning rate of the fine-tuning config '
                        '(default: the TNet\'s)')
    parser.add_argument('--input-size', type=int, default=32,
                        help='image size for FLOPs and latency')
    parser.add_argument('--latency-repeats', type=int, default=10)
    parser.add_argument('--device', default='cpu',
                        help='where the latency is timed: cpu, cuda, '
                        'cuda:1 (CUDA synchronized; the report names it)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='overrides of the config as in tools/train.py (those the run '
        'trained with); they carry into the pruned config written next to OUT')
    parser.add_argument(
        '--detector-config',
        help='an mmdet detector config (yours, mmdet::..., or astro_mm\'s) '
        'to write with the pruned backbone (with --emit)')
    parser.add_argument(
        '--emit', metavar='OUT_DET.py',
        help='write --detector-config with the pruned backbone, its widths '
        'inline, init_cfg loading OUT and the neck widths of a coupled '
        'prune: a standalone config mmdet\'s own tools/train.py runs '
        '(tools/emit_detector_config.py does it for an existing OUT)')
    parser.add_argument(
        '--request', metavar='REQUEST.json',
        help='the other arguments as a JSON object (how tools/run_suite.py '
        'passes them): keys are the flags\' names (budget, measure, method, '
        'coupled, seed, finetune_epochs, ...; cfg_options a list of '
        'key=value strings), values as the flags take them')
    args = parser.parse_args(argv)
    if args.request:
        read_request(parser, args)
    if (args.detector_config is None) != (args.emit is None):
        parser.error('--detector-config and --emit go together')
    return args


def read_request(parser: argparse.ArgumentParser,
                 args: argparse.Namespace) -> None:
    """Set ``args`` from the request file ``args.request``: every value
    converted and checked as its flag's (``type``, ``choices``;
    ``cfg_options`` through DictAction), so a request means what the same
    flags mean; a flag also given on the command line is an error."""
    with open(args.request) as f:
        request = json.load(f)
    # the flags (argparse keeps them in _actions); the files stay on the
    # command line
    flags = {action.dest: action for action in parser._actions
             if action.option_strings and
             action.dest not in ('help', 'request', 'out')}
    for key, value in request.items():
        action = flags.get(key)
        if action is None:
            parser.error(f'{args.request}: unknown argument {key!r} '
                         f'(known: {sorted(flags)})')
        if getattr(args, key) != action.default:
            parser.error(f'{args.request}: {key} is on the command line too')
        if isinstance(action, DictAction):
            action(parser, args, value)
            continue
        if value is not None and action.type is not None:
            value = action.type(value)
        if action.choices is not None and value not in action.choices:
            parser.error(f'{args.request}: {key} must be one of '
                         f'{list(action.choices)}, got {value!r}')
        setattr(args, key, value)


def main(argv=None):
    args = parse_args(argv)
    report = prune_checkpoint(
        args.config, args.checkpoint, args.out, method=args.method,
        threshold=args.threshold, budget=args.budget, coupled=args.coupled,
        seed=args.seed, round_to=args.round_to, min_keep=args.min_keep,
        measure=args.measure, rank=args.rank,
        recalibrate_batches=args.recalibrate_batches,
        finetune_epochs=args.finetune_epochs, finetune_lr=args.finetune_lr,
        input_size=args.input_size, latency_repeats=args.latency_repeats,
        device=args.device, cfg_options=args.cfg_options,
        detector_config=args.detector_config, emit=args.emit)
    print(format_report(report))
    print(prune_summary(report, args.out, args.emit))
    return report


if __name__ == '__main__':
    main()
