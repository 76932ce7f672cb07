"""Physically prune a trained AstroNet / MA-Net checkpoint.

Removes the units of the prunable slots with P below the threshold (inner
channels of residual blocks, DenseNet bottleneck channels, transformer FFN
neurons and heads; default threshold: delta in the paper mode, the gate
threshold in the budget-aware mode) or, with ``--budget`` (alias
``--param-budget``; a share of the parameters or, with ``--cost flops``, of
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
:mod:`astro_mm.pruning.baselines`) to ``--budget`` of ``--cost``
(params or FLOPs), ranking its channels by ``--rank group`` (importance
normalized per group, the published pruners' rule) or ``--rank cost`` (per
unit of cost in the budget's measure); ``--seed`` seeds ``random`` (a study
passes each unit's training seed, so every seed draws other channels). The
report JSON records ``budget``, ``measure`` and ``rank``.
"""
import argparse
import copy
import io
import json
import math
import os.path as osp

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from astro_mm.apis import finetune_config
from astro_mm.compat import (apply_patches, atomic_write_bytes,
                             load_checkpoint_file)
from astro_mm.engine.optimizers.alternating_constructor import WRAPPER_KEYS
from astro_mm.families import resolve_family
from astro_mm.models.modulated import unmodulated_copy
from astro_mm.pruning import (BASELINE_PRUNERS, PruneResult,
                              emit_detector_config, export_pruned,
                              prune_baseline, sync_neck_widths)
from astro_mm.pruning.baselines import MEASURES, RANKS
from astro_mm.pruning.kept_channels import prune_to_kept

BASELINES = tuple(BASELINE_PRUNERS)
EARLY = 'early'  # the channels an EarlyPruningHook chose during training
from astro_mm.pruning.recalibration import recalibrate_batch_norm
from astro_mm.pruning.report import compare, format_report
from astro_mm.registry import HOOKS, MODELS

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
                       'cost (its parameters, or FLOPs with --cost flops) '
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
    parser.add_argument('--cost', choices=MEASURES, default='params',
                        help='the budget\'s measure, for astro and baselines '
                        'alike: the backbone\'s parameters, or its FLOPs '
                        '(multiply-adds of its convs and linears for one '
                        '--input-size image: a CNN\'s flops_ratio in the '
                        'report; a transformer\'s report adds attention\'s '
                        'products, and prints its conv+linear line)')
    parser.add_argument('--rank', choices=RANKS,
                        help='baselines: how channels are ranked, group '
                        '(importance normalized per group) or cost (that per '
                        'unit of cost in --cost); default the method\'s own '
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
        'passes them): keys are the flags\' names (budget, cost, method, '
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


def is_algorithm(cfg: Config) -> bool:
    return str(cfg.model.get('type', '')).endswith('AlternatingAlgorithm')


def classifier_config(cfg: Config) -> ConfigDict:
    """The plain classifier of a config (an astro config's architecture)."""
    return cfg.model.architecture if is_algorithm(cfg) else cfg.model


def _load_model(model_cfg, cfg: Config, checkpoint: str):
    model_cfg = copy.deepcopy(model_cfg)
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    model.load_state_dict(state.get('state_dict', state))
    return model.eval()


def load_algorithm(cfg: Config, checkpoint: str):
    """Build the config's model and load the checkpoint into it."""
    if not is_algorithm(cfg):
        raise ValueError(
            f'the model of this config is {cfg.model.get("type")}, not an '
            'astro_mm.AlternatingAlgorithm: there is no P to prune by (a '
            'plain network is pruned with --method and a baseline)')
    return _load_model(cfg.model, cfg, checkpoint)


def _needs_algorithm(hook_cfg) -> bool:
    hook_type = hook_cfg.get('type')
    hook_cls = hook_type if isinstance(hook_type, type) else \
        HOOKS.get(hook_type)
    return bool(getattr(hook_cls, 'needs_alternating_algorithm', False) or
                # hooks that act on the unpruned network (EarlyPruningHook)
                getattr(hook_cls, 'drop_from_pruned_config', False))


def pruned_config(cfg: Config, widths: dict, checkpoint: str,
                  finetune_epochs=None, finetune_lr=None,
                  stage_widths=None) -> Config:
    """The plain classifier config with the pruned backbone: what
    ``tools/train.py`` fine-tunes and ``tools/test.py`` evaluates.
    ``stage_widths`` (a coupled prune's) go inline too, and the head reads
    the last one."""
    arch = copy.deepcopy(classifier_config(cfg))
    arch.backbone = ConfigDict(type='astro_mm.PrunedBackbone',
                               base=arch.backbone, widths=widths)
    if stage_widths:
        arch.backbone.stage_widths = dict(stage_widths)
        sync_neck_widths(arch, cfg.get('default_scope'))
    out = copy.deepcopy(cfg)
    out.model = arch
    # hooks of Algorithm 1 (rounds, P history) have no algorithm to act on
    out.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if not _needs_algorithm(h)]
    out.pop('model_wrapper_cfg', None)
    if 'tnet' in cfg.optim_wrapper:
        # the TNet's wrapper as AlternatingOptimWrapperConstructor builds
        # it: its own settings over the shared ones (e.g. --amp's type and
        # dtype), so the fine-tune runs in the training's precision
        tnet = dict(cfg.optim_wrapper.tnet)
        wrapper = {key: tnet.get(key, cfg.optim_wrapper.get(key))
                   for key in WRAPPER_KEYS
                   if key in tnet or key in cfg.optim_wrapper}
        wrapper.setdefault('type', 'OptimWrapper')
        out.optim_wrapper = ConfigDict(wrapper, optimizer=tnet['optimizer'])
        if 'clip_grad' in tnet:
            out.optim_wrapper.clip_grad = tnet['clip_grad']
    return finetune_config(out, finetune_epochs, finetune_lr, checkpoint)


def _input_shape(cfg: Config, args) -> tuple:
    channels = cfg.model.architecture.backbone.get('in_channels', 3)
    return (channels, args.input_size, args.input_size)


def _prune(args, cfg: Config, method: str):
    """The pruned classifier (a PruneResult) and the unpruned backbone."""
    if method == 'astro':
        algorithm = load_algorithm(cfg, args.checkpoint)
        result = export_pruned(algorithm, threshold=args.threshold,
                               param_budget=args.budget,
                               round_to=args.round_to,
                               min_keep=args.min_keep, cost=args.cost,
                               input_shape=_input_shape(cfg, args)
                               if args.cost == 'flops' else None,
                               coupled=args.coupled)
        return result, unmodulated_copy(algorithm.architecture.backbone)
    if method == EARLY:
        return _prune_early(args, cfg)
    if is_algorithm(cfg):
        # a baseline on an astro network: the network as trained, P folded
        # into its weights and no unit removed (threshold 0), so a random or
        # L1 mask on it tells what the P ranking adds beyond the modulated
        # training
        classifier = export_pruned(load_algorithm(cfg, args.checkpoint),
                                   threshold=0.).model
    else:
        classifier = _load_model(classifier_config(cfg), cfg, args.checkpoint)
    if method == 'none':  # the unpruned network, for the same fine-tune
        params = sum(p.numel() for p in classifier.backbone.parameters())
        plan = resolve_family(classifier.backbone, strict=True)
        result = PruneResult(copy.deepcopy(classifier), plan.inner_widths(),
                             float('nan'), params, params,
                             stage_widths=plan.stage_widths())
    else:
        if args.budget is None:
            raise ValueError(f'--method {method} needs --budget')
        if args.round_to != 1:
            raise ValueError(f'--method {method} does not support '
                             '--round-to (its prefix meets the budget '
                             'exactly)')
        data = Runner.build_dataloader(cfg.train_dataloader) \
            if BASELINE_PRUNERS[method].needs_data else None
        result = prune_baseline(
            classifier, method, args.budget, data=data, seed=args.seed,
            min_keep=args.min_keep or 0.,
            input_size=(args.input_size, args.input_size),
            coupled=args.coupled, measure=args.cost, rank=args.rank,
            plan=resolve_family(classifier.backbone, strict=True))
    return result, copy.deepcopy(classifier.backbone)


def _prune_early(args, cfg: Config):
    """The network a plain config trained under astro_mm.EarlyPruningHook,
    with the channels the hook held dead removed (they are zero: the prune
    keeps its function), and the unpruned backbone."""
    if is_algorithm(cfg):
        raise ValueError(f'--method {EARLY} prunes a plain network trained '
                         'with astro_mm.EarlyPruningHook; '
                         f'{args.config} is an astro config')
    checkpoint = load_checkpoint_file(args.checkpoint, map_location='cpu')
    meta = (checkpoint.get('meta') or {}).get('early_pruning')
    if not meta or meta.get('kept') is None:
        raise ValueError(
            f'{args.checkpoint} has no meta.early_pruning.kept: it was not '
            'trained with astro_mm.EarlyPruningHook, or was saved before the '
            f'hook\'s prune (at iteration {(meta or {}).get("iteration")})')
    if args.coupled or args.round_to != 1 or args.min_keep is not None:
        raise ValueError(f'--method {EARLY} removes the channels the '
                         'training held dead; --coupled, --round-to and '
                         '--min-keep do not apply')
    if args.budget is not None and \
            abs(args.budget - meta['budget']) > 1e-9:
        raise ValueError(f'--budget {args.budget} differs from '
                         f'the budget the training pruned to '
                         f'({meta["budget"]}); leave it out')
    classifier = _load_model(classifier_config(cfg), cfg, args.checkpoint)
    result = prune_to_kept(classifier, meta['kept'],
                           input_size=meta['input_size'], require_dead=True,
                           method=EARLY, measure=meta['measure'],
                           rank=meta.get('ranked_by') or meta['rank'],
                           budget=meta['budget'],
                           plan=resolve_family(classifier.backbone,
                                               strict=True))
    # the report and the summary line name the training's prune
    args.budget, args.cost = meta['budget'], meta['measure']
    args.early_pruning = {key: meta.get(key) for key in (
        'iteration', 'method', 'budget', 'measure', 'rank', 'ranked_by',
        'seed', 'pruned_at', 'reached')}
    return result, copy.deepcopy(classifier.backbone)


def _measure(args):
    """What the budget counted (None without a budget)."""
    return args.cost if args.budget is not None else None


def _rank(args, result, method: str):
    """The ranking rule the prune used: a baseline's (its result says),
    astro's (P per unit of cost; coupled: P normalized per group, see
    export.prune_architecture), None where nothing was ranked."""
    if method == 'astro':
        if args.budget is None:
            return None
        return 'group' if args.coupled else 'cost'
    # a baseline's or early's (the training's prune, which prune_to_kept
    # records)
    return getattr(result, 'rank', None) if method != 'none' else None


def main(argv=None):
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'--device {args.device}: torch sees no CUDA '
                         'device here')
    if not args.out.endswith('.pth'):
        raise ValueError(f'--out must end with .pth, got {args.out}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    method = args.method or ('astro' if is_algorithm(cfg) else None)
    if method is None:
        raise ValueError(
            f'{args.config} is a plain network: name a baseline with '
            f'--method ({", ".join(("none", ) + BASELINES)})')
    if method == 'astro' and not is_algorithm(cfg):
        raise ValueError(f'--method astro needs an astro config; '
                         f'{args.config} is a plain network')
    if method == 'none' and args.coupled:
        raise ValueError('--coupled prunes stage channels; --method none '
                         'prunes nothing')
    if args.rank is not None and method not in BASELINES:
        raise ValueError(
            f'--rank is for the baseline pruners ({", ".join(BASELINES)}); '
            f'--method {method} '
            + ('ranks P per unit of cost (coupled: P normalized per group)'
               if method == 'astro' else 'ranks nothing'))
    if method != 'astro' and args.threshold is not None:
        raise ValueError('--threshold is for P; a baseline takes '
                         '--budget')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        result, unpruned = _prune(args, cfg, method)
        if args.recalibrate_batches:
            loader = Runner.build_dataloader(cfg.train_dataloader)
            recalibrate_batch_norm(result.model, loader,
                                   args.recalibrate_batches)
            result.model.eval()
        # timed in channels-last, the faster format for CPU inference (as
        # benchmarks/pruning_speedup.py); copies keep the export untouched
        report = compare(unpruned, copy.deepcopy(result.model.backbone),
                         args.input_size, repeats=args.latency_repeats,
                         channels_last=True, device=args.device)
    threshold = None if math.isnan(result.threshold) else result.threshold
    report.update(method=method, threshold=threshold, coupled=result.coupled,
                  stage_widths=result.stage_widths,
                  budget=args.budget, measure=_measure(args),
                  rank=_rank(args, result, method),
                  recalibrated_batches=args.recalibrate_batches,
                  config=args.config, checkpoint=args.checkpoint)
    if method == EARLY:
        report.update(early_pruning=args.early_pruning)
    buffer = io.BytesIO()
    torch.save(dict(state_dict=result.model.state_dict(),
                    meta=dict(pruned_widths=result.widths,
                              stage_widths=result.stage_widths,
                              coupled=result.coupled,
                              method=method, threshold=threshold,
                              source_config=args.config,
                              source_checkpoint=args.checkpoint)), buffer)
    atomic_write_bytes(buffer.getvalue(), args.out)
    stem = args.out[:-len('.pth')]
    pruned_config(cfg, result.widths, args.out, args.finetune_epochs,
                  args.finetune_lr,
                  result.stage_widths if result.coupled else None
                  ).dump(stem + '.py')
    atomic_write_bytes(json.dumps(report, indent=2).encode(), stem + '.json')
    if args.emit:
        emit_detector_config(args.out, args.detector_config, args.emit)
    print(format_report(report))
    how = (f'{method}, budget {args.budget:g} of the {args.cost}'
           if args.budget is not None else
           f'{method}, threshold {threshold}')
    if result.coupled:
        how += f', coupled (stage widths {result.stage_widths})'
    print(f'{how}; wrote {args.out}, {stem}.py (fine-tune: tools/train.py '
          f'{stem}.py), {stem}.json'
          + (f', {args.emit} (the detector)' if args.emit else ''))
    return report


if __name__ == '__main__':
    main()
