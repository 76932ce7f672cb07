"""Turn a trained astro algorithm into a smaller plain network.

Units of the prunable slots (inner channels of residual blocks, DenseNet
bottleneck channels, transformer FFN hidden neurons and heads; see
:mod:`.strategies`) are removed, every remaining gate is folded into the
weights (:mod:`.folding`), and the result is the architecture itself (e.g.
an mmpretrain ``ImageClassifier``) with plain modules: no modulator, no
hooks. A modulated unit outside the prunable slots is never zeroed: its P
is folded as it is, since removing it would save nothing (METHOD.md).

Which units go:

* ``threshold``: P below it (default: the algorithm's own, delta in the
  paper mode, the gate threshold in the budget-aware mode, where the gates
  the TNet trained with are exactly what is kept);
* ``budget``: the backbone keeps that share of its parameters (or MACs,
  ``measure='flops'``). Units are ranked by P relative to the cost each
  owns (:class:`~.cost.KeptCost`: a greedy knapsack, so a costly unit needs
  a higher P to stay), the ``min_keep`` best of every slot always stay, and
  the longest prefix of the ranking that fits the budget is kept. The count
  is exact: the kept parameters are read off the cost model, which is what
  physical pruning leaves.

With ``round_to=N`` every pruned width is rounded up to a multiple of N by
keeping the next-highest-P units, for hardware whose kernels want aligned
widths (GPU tensor cores: multiples of 8). Measured on this project's
2-core CPU (benchmarks/RESULTS.md) it costs inner-only pruning latency and
gains coupled pruning ~0.01; the default is no rounding.

Coupled pruning (``coupled=True``, ResNets): the channels of every stage's residual
stream are pruned too (:mod:`.coupled`), through Torch-Pruning's
dependency graph: every block's last conv and norm, the shortcut, the
stem where it writes into the stream, and the inputs of the next stage
and the head; where the stem is a group of its own (ResNet-50), its
channels too when the stem is modulated (else it has no P and stays
whole). A stage channel's score is the **largest** P of the
modulated layers that write it (each block's last conv, the downsample
conv). Why the maximum, not the mean or the product: a channel of the
stream can only be removed from all its writers at once, and the
export must never remove a unit the threshold rule keeps (METHOD.md: a
unit that cannot be removed is never zeroed). With the maximum, a
threshold removes a stage channel exactly when every coupled unit has
P below it; a mean would remove a channel one block still relies on
when the others do not.

A coupled budget ranks stage and inner channels in one global ranking
by their score relative to the mean score of their group (Torch-
Pruning's ``normalizer='mean'``, the ranking of the baseline pruners,
so astro and the baselines differ only in the importance), and keeps
the longest prefix whose parameters, counted exactly by
:class:`~.coupled.ParamCount`, fit. Not by score / cost as without
coupled: a stage channel owns several times an inner channel's
parameters (every block's last conv, the shortcut, the next convs'
inputs), and with P near-uniform a cost-relative ranking removes the
costliest groups only. Measured on MA-Net ResNet-18 at 0.6 of the
parameters (untrained P): by P / parameters layer4 alone loses 53 %
and the FLOPs fall to 0.88 only, by P / FLOPs three stages fall to one
channel; by group-normalized P the FLOPs fall with the parameters
(0.62).
"""
import math
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from astro_mm.models.modulated import unmodulated_copy
from .cost import KeptCost
from .coupled import (ParamCount, build_graph, example_inputs, params,
                      prune_groups, removed_channels)
from .folding import fold_unit_probs


@dataclass
class PruneResult:
    """What :func:`export_pruned` returns.

    Attributes:
        model (nn.Module): The plain, pruned architecture (eval mode).
        widths (dict): Widths of the prunable slots per block, to rebuild
            the backbone (``astro_mm.PrunedBackbone``).
        threshold (float): The threshold used (NaN for a budget selection,
            which ranks by P relative to cost).
        params_before (int): Backbone parameters before pruning.
        params_after (int): Backbone parameters after pruning.
        probs (list[Tensor]): The gates the exported network realizes, one
            per modulated layer of the algorithm (0 where a unit was
            removed): setting the algorithm's cached P to these makes it
            compute what the export computes (with ``coupled``, once the
            unmodulated writers of removed stage channels are switched off
            too: :func:`~.coupled.silence_channels` with
            ``removed_channels``).
        stage_widths (dict, optional): Output width of every stage of a
            ResNet, ``{'layer1': 64, ...}`` (smaller than the unpruned
            one's only with ``coupled``): ``meta.stage_widths``, what the
            detectors' necks read.
        coupled (bool): Whether stage channels were pruned.
        removed_channels (dict): With ``coupled``, the removed stage
            channels by the name of every module (of the unpruned backbone)
            that wrote them.
    """
    model: nn.Module
    widths: Dict[str, List[int]]
    threshold: float
    params_before: int
    params_after: int
    probs: Optional[List[torch.Tensor]] = None
    stage_widths: Optional[Dict[str, int]] = None
    coupled: bool = False
    removed_channels: Dict[str, List[int]] = field(default_factory=dict)


def _floor(units: int, min_keep: float) -> int:
    return min(units, max(1, math.ceil(min_keep * units)))


def _round_up(mask: torch.Tensor, scores: torch.Tensor,
              round_to: int) -> torch.Tensor:
    count = int(mask.sum())
    target = min(scores.numel(), -(-count // round_to) * round_to)
    if target == count:
        return mask
    mask = mask.clone()
    mask[scores.topk(target).indices] = True
    return mask


def threshold_masks(scores: Sequence[torch.Tensor], threshold: float,
                    prunable: Sequence[bool], min_keep: float = 0.,
                    round_to: int = 1) -> List[torch.Tensor]:
    """Kept units per layer: P >= threshold, at least the ``min_keep`` best
    (and one), the count rounded up to ``round_to``; every unit of a layer
    that is not prunable."""
    masks = []
    for p, can_prune in zip(scores, prunable):
        if not can_prune:
            masks.append(torch.ones_like(p, dtype=torch.bool))
            continue
        mask = p >= threshold
        mask[p.topk(_floor(p.numel(), min_keep)).indices] = True
        masks.append(_round_up(mask, p, round_to))
    return masks


def budget_masks(scores: Sequence[torch.Tensor], cost: KeptCost,
                 unit_costs: Sequence[torch.Tensor], budget: float,
                 prunable: Sequence[bool], min_keep: float = 0.,
                 round_to: int = 1) -> List[torch.Tensor]:
    """Kept units per layer for a cost budget: the longest prefix of the
    ranking by P / cost whose kept share is <= ``budget`` (a unit the cost
    model gives no cost is always kept).

    Raises:
        ValueError: The budget is outside (0, 1].
    """
    if not 0 < budget <= 1:
        raise ValueError(f'budget must be in (0, 1], got {budget}')
    forced, candidates = [], []
    for i, (p, c, can_prune) in enumerate(zip(scores, unit_costs, prunable)):
        mask = torch.ones_like(p, dtype=torch.bool)
        if can_prune:
            mask = c <= 0
            mask[p.topk(_floor(p.numel(), min_keep)).indices] = True
            for j in (~mask).nonzero().flatten().tolist():
                candidates.append((float(p[j]) / float(c[j]), i, j))
        forced.append(mask)
    candidates.sort(key=lambda item: -item[0])

    def masks_for(count: int) -> List[torch.Tensor]:
        masks = [m.clone() for m in forced]
        for _, i, j in candidates[:count]:
            masks[i][j] = True
        return [_round_up(m, p, round_to) if can_prune else m
                for m, p, can_prune in zip(masks, scores, prunable)]

    def fits(count: int) -> bool:
        return float(cost.ratio([m.float() for m in masks_for(count)])
                     ) <= budget + 1e-9

    lo, hi = 0, len(candidates)  # the largest count that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return masks_for(lo)


def check_plan(plan: 'FamilyPlan', backbone: nn.Module) -> None:
    """Refuse a family plan resolved for another backbone than the one
    pruned.

    Raises:
        TypeError: ``plan`` is not a family plan.
        ValueError: It is the plan of another backbone.
    """
    if not hasattr(plan, 'bind') or not hasattr(plan, 'backbone'):
        raise TypeError('plan must be the FamilyPlan of the backbone '
                        '(astro_mm.families.resolve_family(backbone)), got '
                        f'{type(plan).__name__}')
    if plan.backbone is not backbone:
        raise ValueError(
            f'plan is the family plan of another backbone '
            f'({type(plan.backbone).__name__} at {id(plan.backbone):#x}) '
            f'than the one to prune ({type(backbone).__name__} at '
            f'{id(backbone):#x}): resolve it for this backbone')


def _coupled_prune(architecture: nn.Module, plan: 'FamilyPlan',
                   layers: Sequence, scores: Sequence[torch.Tensor],
                   gates: Optional[Sequence[torch.Tensor]],
                   threshold: Optional[float], budget: Optional[float],
                   round_to: int, min_keep: float) -> PruneResult:
    """:func:`prune_architecture` with ``coupled=True`` (the module's
    docstring says how stage channels are scored and ranked)."""
    plan.require_coupled('coupled pruning')
    model = unmodulated_copy(architecture)
    backbone = model.backbone
    plan = plan.bind(backbone)
    # the whole classifier is traced: the head's inputs follow the last
    # stage's channels
    graph = build_graph(model, example_inputs(backbone))
    groups = plan.channel_groups(graph, coupled=True)
    index = {layer.name: i for i, layer in enumerate(layers)}
    # the modulated layers whose units are each group's channels: an inner
    # slot's own layer; for a stage, every modulated writer of its stream
    group_layers = []
    for group in groups:
        names = group.out_names if group.kind == 'stage' else [group.name]
        group_layers.append([index[n] for n in names if n in index])
    if not any(ids for ids, g in zip(group_layers, groups)
               if g.kind == 'stage'):
        raise ValueError(
            'coupled pruning ranks stage channels by the P of the layers '
            'that write them (block outputs, shortcuts), and none of them is '
            'modulated (the budget-aware mode modulates inner units only): '
            'prune without coupled, or modulate the block outputs')
    # a stage channel is removed only when every unit that writes it is
    # expendable, so its score is the largest P among them (see
    # prune_architecture)
    group_scores = [
        torch.stack([scores[i] for i in ids]).amax(0) if ids else
        torch.ones(group.width) for ids, group in zip(group_layers, groups)
    ]
    prunable = [bool(ids) for ids in group_layers]
    if budget is not None:
        # one global ranking of every group's channels by their score
        # relative to the group's mean, as Torch-Pruning ranks globally (the
        # baselines' ranking: see prune_architecture)
        ranking = [s / s.mean().clamp_min(1e-12) for s in group_scores]
        masks = budget_masks(ranking, ParamCount(backbone, groups),
                             [torch.ones(group.width) for group in groups],
                             budget, prunable, min_keep, round_to)
        threshold = float('nan')
    else:
        masks = threshold_masks(group_scores, threshold, prunable, min_keep,
                                round_to)
    params_before = params(backbone)
    expected = ParamCount(backbone, groups)([int(m.sum()) for m in masks])
    realized = None
    if gates is not None:
        layer_masks = [torch.ones(layer.num_units, dtype=torch.bool)
                       for layer in layers]
        for ids, mask in zip(group_layers, masks):
            for i in ids:
                layer_masks[i] = mask
        realized = [g.detach() * m for g, m in zip(gates, layer_masks)]
        for layer, folded in zip(layers, realized):
            fold_unit_probs(layer.name, layer.kind,
                            backbone.get_submodule(_scale_name(layer,
                                                               architecture)),
                            folded)
    keep = [mask.nonzero().flatten() for mask in masks]
    stages = [(g, k) for g, k in zip(groups, keep) if g.kind == 'stage']
    removed = removed_channels([g for g, _ in stages], [k for _, k in stages])
    # one slicing path: Torch-Pruning shrinks every group in place (the
    # modules stay the objects the graph holds), stages and inner slots
    prune_groups(graph, groups, keep)
    if params(backbone) != expected:
        raise RuntimeError(f'coupled pruning left {params(backbone)} backbone '
                           f'parameters, the width model predicted {expected}')
    model.eval()
    return PruneResult(model, plan.inner_widths(), float(threshold),
                       params_before, params(backbone), realized,
                       stage_widths=plan.stage_widths(),
                       coupled=True, removed_channels=removed)


def _scale_name(layer, architecture: nn.Module) -> str:
    """The name of a modulated layer's scale module in the backbone (a
    copy has the same module names as the original)."""
    for name, module in architecture.backbone.named_modules():
        if module is layer.scale_module:
            return name
    raise ValueError(f'{layer.name}: its scale module is not in the backbone')


def prune_architecture(architecture: nn.Module,
                       layers: Sequence,
                       scores: Sequence[torch.Tensor],
                       gates: Optional[Sequence[torch.Tensor]] = None,
                       threshold: Optional[float] = None,
                       budget: Optional[float] = None,
                       round_to: int = 1,
                       min_keep: float = 0.,
                       measure: str = 'params',
                       input_shape: Optional[Sequence[int]] = None,
                       rank_by_cost: bool = True,
                       coupled: bool = False, *,
                       plan: 'FamilyPlan') -> PruneResult:
    """Prune a copy of ``architecture`` by per-unit scores.

    With ``coupled`` the channels of the family's coupled groups (a ResNet
    stage's residual stream) are pruned too, ranked by the largest P of
    their writers (:func:`_coupled_prune` says why).

    Args:
        architecture (nn.Module): A classifier with a ``backbone`` (a
            modulated one: its copy drops the modulation hooks).
        layers (Sequence[ModulatedLayer]): The layers ``scores`` describe.
        scores (Sequence[Tensor]): One score per unit (P, or a baseline's
            ranking score), per layer.
        gates (Sequence[Tensor], optional): What scales the units now
            (folded into the kept ones); None: nothing to fold.
        threshold, budget, round_to, min_keep, measure, input_shape: As
            :func:`export_pruned` (one of threshold / budget).
        rank_by_cost (bool): Rank by score / cost for a budget (False: by
            score alone, e.g. a random order); not with ``coupled``, which
            ranks by group-normalized score.
        coupled (bool): Prune stage channels too (ResNets; params budget
            only).
        plan (FamilyPlan): The family plan of ``architecture.backbone``
            (an algorithm's ``family_plan``).

    Raises:
        ValueError: Both or none of threshold / budget; ``coupled``
            for a family other than ResNet, with ``measure='flops'``, or with
            no modulated writer of any stage's stream.
    """
    if round_to < 1:
        raise ValueError(f'round_to must be >= 1, got {round_to}')
    if (threshold is None) == (budget is None):
        raise ValueError('give exactly one of threshold and budget')
    if threshold is not None and not math.isfinite(threshold):
        raise ValueError(f'threshold must be a finite number, got {threshold} '
                         '(a budget export reports NaN: prune it with '
                         'budget again, not with its threshold)')
    backbone_in = architecture.backbone
    check_plan(plan, backbone_in)
    scores = [p.detach() for p in scores]
    if coupled:
        if measure != 'params':
            raise ValueError('coupled pruning counts parameters only; got '
                             f'measure={measure!r}')
        return _coupled_prune(architecture, plan, layers, scores, gates,
                              threshold, budget, round_to, min_keep)
    return _inner_prune(architecture, plan, layers, scores, gates,
                        threshold, budget, round_to, min_keep, measure,
                        input_shape, rank_by_cost)


def _inner_prune(architecture: nn.Module, plan: 'FamilyPlan',
                 layers: Sequence, scores: Sequence[torch.Tensor],
                 gates: Optional[Sequence[torch.Tensor]],
                 threshold: Optional[float], budget: Optional[float],
                 round_to: int, min_keep: float, measure: str,
                 input_shape: Optional[Sequence[int]],
                 rank_by_cost: bool) -> PruneResult:
    """:func:`prune_architecture` without ``coupled``: the prunable slots
    of the family's strategy only."""
    backbone_in = architecture.backbone
    strategy = plan.strategy
    slots = set(plan.prunable_layer_names())
    names = [layer.name for layer in layers]
    prunable = [name in slots for name in names]
    if not any(prunable):
        raise ValueError('no modulated layer is a prunable slot of '
                         f'{strategy.family}: nothing to prune')
    if budget is not None:
        kept_cost = KeptCost(plan, names, measure, input_shape)
        unit_costs = kept_cost.unit_costs([p.numel() for p in scores]) \
            if rank_by_cost else [torch.ones_like(p) for p in scores]
        masks = budget_masks(scores, kept_cost, unit_costs, budget,
                             prunable, min_keep, round_to)
        threshold = float('nan')
    else:
        masks = threshold_masks(scores, threshold, prunable, min_keep,
                                round_to)
    model = unmodulated_copy(architecture)
    backbone = model.backbone
    params_before = params(backbone)
    realized = None
    if gates is not None:
        realized = [g.detach() * m for g, m in zip(gates, masks)]
        # the copy has the same module names as the original backbone
        module_names = {id(m): n for n, m in backbone_in.named_modules()}
        for layer, folded in zip(layers, realized):
            scale_module = backbone.get_submodule(
                module_names[id(layer.scale_module)])
            fold_unit_probs(layer.name, layer.kind, scale_module, folded)
    by_name = dict(zip(names, masks))
    keep = {}
    # the copy has the blocks of the plan's backbone, under the same names
    for name, block in strategy.blocks(backbone).items():
        keep[name] = []
        for layer_name, width in zip(plan.slots[name],
                                     strategy.widths(block)):
            mask = by_name.get(layer_name)
            keep[name].append(torch.arange(width) if mask is None else
                              mask.nonzero().flatten())
    pruned = plan.bind(backbone)
    pruned.prune_units(keep)
    model.eval()
    return PruneResult(model, pruned.inner_widths(), float(threshold),
                       params_before, params(backbone), realized,
                       stage_widths=pruned.stage_widths())


def export_pruned(algorithm,
                  threshold: Optional[float] = None,
                  budget: Optional[float] = None,
                  round_to: int = 1,
                  min_keep: Optional[float] = None,
                  measure: str = 'params',
                  input_shape: Optional[Sequence[int]] = None,
                  coupled: bool = False,
                  **renamed) -> PruneResult:
    """Prune and fold an ``AlternatingAlgorithm``'s architecture.

    Args:
        algorithm: A trained ``astro_mm.AlternatingAlgorithm``.
        threshold (float, optional): Units of the prunable slots with P
            below it are removed; default the algorithm's
            ``prune_threshold``.
        budget (float, optional): Instead of ``threshold``, the share
            of the backbone's ``measure`` to keep.
        round_to (int): Round every pruned width up to a multiple of this
            (1: no rounding).
        min_keep (float, optional): Share of every slot's units always kept
            (at least one); default the budget-aware mode's, else 0.
        measure (str): What ``budget`` counts: ``'params'`` or
            ``'flops'`` (with ``input_shape``).
        input_shape (Sequence[int], optional): (C, H, W) for ``'flops'``.
        coupled (bool): Prune the channels of each stage's residual stream
            too (ResNets; see :func:`prune_architecture`).
        **renamed: ``param_budget`` and ``cost``, the former names of
            ``budget`` and ``measure``, still taken (with a warning).

    Raises:
        ValueError: The backbone belongs to no family with a pruning
            strategy, the algorithm is still in its warm-up (no P), or P
            cannot be folded into a modulated layer.
    """
    budget, measure = _renamed_arguments(renamed, budget, measure)
    scores = algorithm.current_probs()
    if scores is None:
        raise ValueError('the algorithm is still in its warm-up: it has no P '
                         'to prune by (train past warmup_rounds first)')
    if min_keep is None:
        min_keep = algorithm.budget.min_keep if algorithm.budget else 0.
    if budget is None and threshold is None:
        threshold = algorithm.prune_threshold
    return prune_architecture(
        algorithm.architecture, algorithm.layers, scores,
        algorithm.current_gates(), threshold, budget, round_to,
        min_keep, measure, input_shape, coupled=coupled,
        plan=algorithm.family_plan)


# former argument names of export_pruned -> their names now
RENAMED_ARGUMENTS = {'param_budget': 'budget', 'cost': 'measure'}


def _renamed_arguments(renamed: dict, budget: Optional[float],
                       measure: str) -> tuple:
    """``(budget, measure)`` with the former names read (with a warning).

    Raises:
        TypeError: An unknown argument, or a value given by both names.
    """
    unknown = set(renamed) - set(RENAMED_ARGUMENTS)
    if unknown:
        raise TypeError(f'export_pruned() got unknown arguments '
                        f'{sorted(unknown)}')
    values = dict(budget=budget, measure=measure)
    for old, value in renamed.items():
        new = RENAMED_ARGUMENTS[old]
        if new == 'budget' and budget is not None or \
                new == 'measure' and measure != 'params':
            raise TypeError(f'export_pruned() got both {old} (its former '
                            f'name) and {new}')
        warnings.warn(f'export_pruned({old}=...) is now {new}=...',
                      DeprecationWarning, stacklevel=3)
        values[new] = value
    return values['budget'], values['measure']
