"""Prune a trained checkpoint and write what ``tools/prune.py`` writes.

:func:`prune_checkpoint` is the whole flow of the tool: read the config
and checkpoint, remove units (an astro network's by P, a plain network's
by a baseline pruner, or the channels astro_mm.EarlyPruningHook held dead
in training), re-estimate the batch-norm statistics, measure the pruned
backbone against the unpruned one, and write the pruned checkpoint, its
fine-tuning config and its report (and, on request, a detector config
with the pruned backbone). See ``tools/prune.py`` for the files and the
options.
"""
import copy
import io
import json
import math
from dataclasses import dataclass
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from astro_mm.compat import atomic_write_bytes, load_checkpoint_file
from astro_mm.families import resolve_family
from astro_mm.models.modulated import unmodulated_copy
from astro_mm.pruning import (BASELINE_PRUNERS, PruneResult,
                              emit_detector_config, export_pruned,
                              prune_baseline)
from astro_mm.pruning.kept_channels import prune_to_kept
from astro_mm.pruning.recalibration import recalibrate_batch_norm
from astro_mm.pruning.report import compare

from .finetune import pruned_config
from .model_loading import (classifier_config, is_algorithm, load_algorithm,
                            load_model)

#: The baseline pruners of a plain network, by ``method`` name.
BASELINES = tuple(BASELINE_PRUNERS)
#: The ``method`` that removes the channels an EarlyPruningHook chose
#: during training.
EARLY = 'early'
#: The keys of a checkpoint's ``meta.early_pruning`` the report repeats.
EARLY_PRUNING_KEYS = ('iteration', 'method', 'budget', 'measure', 'rank',
                      'ranked_by', 'seed', 'pruned_at', 'reached')


@dataclass(frozen=True)
class PruneOptions:
    """How :func:`prune_checkpoint` prunes: ``tools/prune.py``'s options,
    with the same defaults.

    Attributes:
        method (str, optional): ``astro`` (by P, an astro config's
            default), ``none`` (nothing removed), a baseline pruner
            (:data:`BASELINES`) or :data:`EARLY`; required for a plain
            network.
        threshold (float, optional): Units with P below it are removed.
        budget (float, optional): Instead: the share of the backbone's
            ``measure`` to keep.
        coupled (bool): Prune each stage's residual stream too (ResNets).
        seed (int): Seed of the random baseline.
        round_to (int): Round pruned widths up to multiples of this.
        min_keep (float, optional): Share of every prunable layer's units
            always kept.
        measure (str): The budget's measure, ``params`` or ``flops``.
        rank (str, optional): A baseline's ranking rule.
        recalibrate_batches (int): Training batches that re-estimate the
            batch-norm statistics (0: keep them).
        finetune_epochs (int, optional): The fine-tuning config's epochs.
        finetune_lr (float, optional): Its learning rate.
        input_size (int): Image size for FLOPs and latency.
        latency_repeats (int): Timed forward passes per backbone.
        device (str): Where the latency is timed.
        cfg_options (dict, optional): Overrides of the config, merged into
            it (and into the written fine-tuning config).
        detector_config (str, optional): A detector config to write with
            the pruned backbone (with ``emit``).
        emit (str, optional): Where to write it.
    """
    method: Optional[str] = None
    threshold: Optional[float] = None
    budget: Optional[float] = None
    coupled: bool = False
    seed: int = 0
    round_to: int = 1
    min_keep: Optional[float] = None
    measure: str = 'params'
    rank: Optional[str] = None
    recalibrate_batches: int = 50
    finetune_epochs: Optional[int] = None
    finetune_lr: Optional[float] = None
    input_size: int = 32
    latency_repeats: int = 10
    device: str = 'cpu'
    cfg_options: Optional[dict] = None
    detector_config: Optional[str] = None
    emit: Optional[str] = None


def prune_checkpoint(config: str, checkpoint: str, out: str,
                     **options) -> dict:
    """Prune ``checkpoint`` of ``config`` and write the pruned network.

    Writes ``out`` (the pruned checkpoint), ``out`` with .py (its
    fine-tuning config), ``out`` with .json (the report) and, with
    ``emit``, ``detector_config`` with the pruned backbone at ``emit``.

    Args:
        config (str): The config the run trained.
        checkpoint (str): Its checkpoint.
        out (str): The pruned checkpoint to write (.pth).
        **options: :class:`PruneOptions`.

    Returns:
        dict: The report (also written as JSON); ``tools/prune.py`` prints
        it with :func:`astro_mm.pruning.report.format_report`, then
        :func:`prune_summary`.

    Raises:
        TypeError: An option :class:`PruneOptions` does not have.
        ValueError: Options that do not go together, or a checkpoint that
            cannot be pruned as asked.
    """
    opts = PruneOptions(**options)
    if opts.device.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'--device {opts.device}: torch sees no CUDA '
                         'device here')
    if not out.endswith('.pth'):
        raise ValueError(f'--out must end with .pth, got {out}')
    cfg = Config.fromfile(config)
    if opts.cfg_options:
        cfg.merge_from_dict(opts.cfg_options)
    method = opts.method or ('astro' if is_algorithm(cfg) else None)
    _check_method(cfg, config, method, threshold=opts.threshold,
                  coupled=opts.coupled, rank=opts.rank)
    budget, measure, early_pruning = opts.budget, opts.measure, None
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        if method == EARLY:
            result, unpruned, meta = _prune_early(
                cfg, config, checkpoint, budget=budget, coupled=opts.coupled,
                round_to=opts.round_to, min_keep=opts.min_keep)
            # the report and the summary line name the training's prune
            budget, measure = meta['budget'], meta['measure']
            early_pruning = {key: meta.get(key) for key in EARLY_PRUNING_KEYS}
        else:
            result, unpruned = _prune(
                cfg, method, checkpoint, threshold=opts.threshold,
                budget=budget, coupled=opts.coupled, seed=opts.seed,
                round_to=opts.round_to, min_keep=opts.min_keep,
                measure=measure, rank=opts.rank, input_size=opts.input_size)
        if opts.recalibrate_batches:
            loader = Runner.build_dataloader(cfg.train_dataloader)
            recalibrate_batch_norm(result.model, loader,
                                   opts.recalibrate_batches)
            result.model.eval()
        # timed in channels-last, the faster format for CPU inference (as
        # benchmarks/pruning_speedup.py); copies keep the export untouched
        report = compare(unpruned, copy.deepcopy(result.model.backbone),
                         opts.input_size, repeats=opts.latency_repeats,
                         channels_last=True, device=opts.device)
    threshold = None if math.isnan(result.threshold) else result.threshold
    report.update(method=method, threshold=threshold, coupled=result.coupled,
                  stage_widths=result.stage_widths,
                  budget=budget,
                  measure=measure if budget is not None else None,
                  rank=_rank_rule(method, result, budget=budget,
                                  coupled=opts.coupled),
                  recalibrated_batches=opts.recalibrate_batches,
                  config=config, checkpoint=checkpoint)
    if method == EARLY:
        report.update(early_pruning=early_pruning)
    _write_pruned(cfg, result, out, report, method=method,
                  threshold=threshold, config=config, checkpoint=checkpoint,
                  finetune_epochs=opts.finetune_epochs,
                  finetune_lr=opts.finetune_lr)
    if opts.emit:
        emit_detector_config(out, opts.detector_config, opts.emit)
    return report


def prune_summary(report: dict, out: str, emit: Optional[str] = None) -> str:
    """The one line ``tools/prune.py`` ends with: how it pruned, what it
    wrote."""
    stem = out[:-len('.pth')]
    if report['budget'] is not None:
        how = (f'{report["method"]}, budget {report["budget"]:g} of the '
               f'{report["measure"]}')
    else:
        how = f'{report["method"]}, threshold {report["threshold"]}'
    if report['coupled']:
        how += f', coupled (stage widths {report["stage_widths"]})'
    return (f'{how}; wrote {out}, {stem}.py (fine-tune: tools/train.py '
            f'{stem}.py), {stem}.json'
            + (f', {emit} (the detector)' if emit else ''))


def _check_method(cfg: Config, config: str, method: Optional[str], *,
                  threshold: Optional[float], coupled: bool,
                  rank: Optional[str]) -> None:
    """Refuse a method the config cannot take or options it ignores."""
    if method is None:
        raise ValueError(
            f'{config} is a plain network: name a baseline with '
            f'--method ({", ".join(("none", ) + BASELINES)})')
    if method == 'astro' and not is_algorithm(cfg):
        raise ValueError(f'--method astro needs an astro config; '
                         f'{config} is a plain network')
    if method == 'none' and coupled:
        raise ValueError('--coupled prunes stage channels; --method none '
                         'prunes nothing')
    if rank is not None and method not in BASELINES:
        raise ValueError(
            f'--rank is for the baseline pruners ({", ".join(BASELINES)}); '
            f'--method {method} '
            + ('ranks P per unit of cost (coupled: P normalized per group)'
               if method == 'astro' else 'ranks nothing'))
    if method != 'astro' and threshold is not None:
        raise ValueError('--threshold is for P; a baseline takes '
                         '--budget')


def _prune(cfg: Config, method: str, checkpoint: str, *,
           threshold: Optional[float], budget: Optional[float],
           coupled: bool, seed: int, round_to: int,
           min_keep: Optional[float], measure: str, rank: Optional[str],
           input_size: int) -> tuple:
    """The pruned classifier (a PruneResult) and the unpruned backbone."""
    if method == 'astro':
        algorithm = load_algorithm(cfg, checkpoint)
        channels = cfg.model.architecture.backbone.get('in_channels', 3)
        result = export_pruned(algorithm, threshold=threshold,
                               budget=budget, round_to=round_to,
                               min_keep=min_keep, measure=measure,
                               input_shape=(channels, input_size, input_size)
                               if measure == 'flops' else None,
                               coupled=coupled)
        return result, unmodulated_copy(algorithm.architecture.backbone)
    if is_algorithm(cfg):
        # a baseline on an astro network: the network as trained, P folded
        # into its weights and no unit removed (threshold 0), so a random or
        # L1 mask on it tells what the P ranking adds beyond the modulated
        # training
        classifier = export_pruned(load_algorithm(cfg, checkpoint),
                                   threshold=0.).model
    else:
        classifier = load_model(classifier_config(cfg), cfg, checkpoint)
    if method == 'none':  # the unpruned network, for the same fine-tune
        params = sum(p.numel() for p in classifier.backbone.parameters())
        plan = resolve_family(classifier.backbone, strict=True)
        result = PruneResult(copy.deepcopy(classifier), plan.inner_widths(),
                             float('nan'), params, params,
                             stage_widths=plan.stage_widths())
    else:
        if budget is None:
            raise ValueError(f'--method {method} needs --budget')
        if round_to != 1:
            raise ValueError(f'--method {method} does not support '
                             '--round-to (its prefix meets the budget '
                             'exactly)')
        data = Runner.build_dataloader(cfg.train_dataloader) \
            if BASELINE_PRUNERS[method].needs_data else None
        result = prune_baseline(
            classifier, method, budget, data=data, seed=seed,
            min_keep=min_keep or 0., input_size=(input_size, input_size),
            coupled=coupled, measure=measure, rank=rank,
            plan=resolve_family(classifier.backbone, strict=True))
    return result, copy.deepcopy(classifier.backbone)


def _prune_early(cfg: Config, config: str, checkpoint: str, *,
                 budget: Optional[float], coupled: bool, round_to: int,
                 min_keep: Optional[float]) -> tuple:
    """The network a plain config trained under astro_mm.EarlyPruningHook,
    with the channels the hook held dead removed (they are zero: the prune
    keeps its function), the unpruned backbone, and the checkpoint's
    ``meta.early_pruning``."""
    if is_algorithm(cfg):
        raise ValueError(f'--method {EARLY} prunes a plain network trained '
                         'with astro_mm.EarlyPruningHook; '
                         f'{config} is an astro config')
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    meta = (state.get('meta') or {}).get('early_pruning')
    if not meta or meta.get('kept') is None:
        raise ValueError(
            f'{checkpoint} has no meta.early_pruning.kept: it was not '
            'trained with astro_mm.EarlyPruningHook, or was saved before the '
            f'hook\'s prune (at iteration {(meta or {}).get("iteration")})')
    if coupled or round_to != 1 or min_keep is not None:
        raise ValueError(f'--method {EARLY} removes the channels the '
                         'training held dead; --coupled, --round-to and '
                         '--min-keep do not apply')
    if budget is not None and abs(budget - meta['budget']) > 1e-9:
        raise ValueError(f'--budget {budget} differs from '
                         f'the budget the training pruned to '
                         f'({meta["budget"]}); leave it out')
    classifier = load_model(classifier_config(cfg), cfg, checkpoint)
    result = prune_to_kept(classifier, meta['kept'],
                           input_size=meta['input_size'], require_dead=True,
                           method=EARLY, measure=meta['measure'],
                           rank=meta.get('ranked_by') or meta['rank'],
                           budget=meta['budget'],
                           plan=resolve_family(classifier.backbone,
                                               strict=True))
    return result, copy.deepcopy(classifier.backbone), meta


def _rank_rule(method: str, result, *, budget: Optional[float],
               coupled: bool) -> Optional[str]:
    """The ranking rule the prune used: a baseline's (its result says),
    astro's (P per unit of cost; coupled: P normalized per group, see
    export.prune_architecture), None where nothing was ranked."""
    if method == 'astro':
        if budget is None:
            return None
        return 'group' if coupled else 'cost'
    # a baseline's or early's (the training's prune, which prune_to_kept
    # records)
    return getattr(result, 'rank', None) if method != 'none' else None


def _write_pruned(cfg: Config, result: PruneResult, out: str, report: dict,
                  *, method: str, threshold: Optional[float], config: str,
                  checkpoint: str, finetune_epochs: Optional[int],
                  finetune_lr: Optional[float]) -> None:
    """Write the pruned checkpoint, its fine-tuning config and the report
    (each atomically)."""
    buffer = io.BytesIO()
    torch.save(dict(state_dict=result.model.state_dict(),
                    meta=dict(pruned_widths=result.widths,
                              stage_widths=result.stage_widths,
                              coupled=result.coupled,
                              method=method, threshold=threshold,
                              source_config=config,
                              source_checkpoint=checkpoint)), buffer)
    atomic_write_bytes(buffer.getvalue(), out)
    stem = out[:-len('.pth')]
    pruned_config(cfg, result.widths, out, finetune_epochs, finetune_lr,
                  result.stage_widths if result.coupled else None
                  ).dump(stem + '.py')
    atomic_write_bytes(json.dumps(report, indent=2).encode(), stem + '.json')

