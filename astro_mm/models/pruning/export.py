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
* ``param_budget``: the backbone keeps that share of its parameters (or
  MACs, ``cost='flops'``). Units are ranked by P relative to the cost each
  owns (:class:`~.cost.KeptCost`: a greedy knapsack, so a costly unit needs
  a higher P to stay), the ``min_keep`` best of every slot always stay, and
  the longest prefix of the ranking that fits the budget is kept. The count
  is exact: the kept parameters are read off the cost model, which is what
  physical pruning leaves.

With ``round_to=N`` every pruned width is rounded up to a multiple of N by
keeping the next-highest-P units, for hardware whose kernels want aligned
widths (GPU tensor cores: multiples of 8). Measured on this project's
2-core CPU (benchmarks/RESULTS.md) it does not pay; the default is no
rounding.
"""
import copy
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from ..modulation import unmodulated_copy
from .cost import KeptCost
from .folding import fold_unit_probs
from .strategies import inner_widths, prune_units, strategy_for


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
            compute what the export computes.
    """
    model: nn.Module
    widths: Dict[str, List[int]]
    threshold: float
    params_before: int
    params_after: int
    probs: Optional[List[torch.Tensor]] = None


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


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
        raise ValueError(f'param_budget must be in (0, 1], got {budget}')
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


def prune_architecture(architecture: nn.Module,
                       layers: Sequence,
                       scores: Sequence[torch.Tensor],
                       gates: Optional[Sequence[torch.Tensor]] = None,
                       threshold: Optional[float] = None,
                       param_budget: Optional[float] = None,
                       round_to: int = 1,
                       min_keep: float = 0.,
                       cost: str = 'params',
                       input_shape: Optional[Sequence[int]] = None,
                       rank_by_cost: bool = True) -> PruneResult:
    """Prune a copy of ``architecture`` by per-unit scores.

    Args:
        architecture (nn.Module): A classifier with a ``backbone`` (a
            modulated one: its copy drops the modulation hooks).
        layers (Sequence[ModulatedLayer]): The layers ``scores`` describe.
        scores (Sequence[Tensor]): One score per unit (P, or a baseline's
            ranking score), per layer.
        gates (Sequence[Tensor], optional): What scales the units now
            (folded into the kept ones); None: nothing to fold.
        threshold, param_budget, round_to, min_keep, cost, input_shape: As
            :func:`export_pruned` (one of threshold / param_budget).
        rank_by_cost (bool): Rank by score / cost for a budget (False: by
            score alone, e.g. a random order).
    """
    if round_to < 1:
        raise ValueError(f'round_to must be >= 1, got {round_to}')
    if (threshold is None) == (param_budget is None):
        raise ValueError('give exactly one of threshold and param_budget')
    if threshold is not None and not math.isfinite(threshold):
        raise ValueError(f'threshold must be a finite number, got {threshold} '
                         '(a budget export reports NaN: prune it with '
                         'param_budget again, not with its threshold)')
    backbone_in = architecture.backbone
    strategy = strategy_for(backbone_in)
    scores = [p.detach() for p in scores]
    slots = {f'{name}.{slot}' for name, block in strategy.blocks(
        backbone_in).items() for slot in strategy.slots(block)}
    names = [layer.name for layer in layers]
    prunable = [name in slots for name in names]
    if not any(prunable):
        raise ValueError('no modulated layer is a prunable slot of '
                         f'{strategy.family}: nothing to prune')
    if param_budget is not None:
        kept_cost = KeptCost(backbone_in, names, cost, input_shape)
        unit_costs = kept_cost.unit_costs([p.numel() for p in scores]) \
            if rank_by_cost else [torch.ones_like(p) for p in scores]
        masks = budget_masks(scores, kept_cost, unit_costs, param_budget,
                             prunable, min_keep, round_to)
        threshold = float('nan')
    else:
        masks = threshold_masks(scores, threshold, prunable, min_keep,
                                round_to)
    model = unmodulated_copy(architecture)
    backbone = model.backbone
    params_before = _params(backbone)
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
    for name, block in strategy.blocks(backbone).items():
        keep[name] = []
        for slot, width in zip(strategy.slots(block), strategy.widths(block)):
            mask = by_name.get(f'{name}.{slot}')
            keep[name].append(torch.arange(width) if mask is None else
                              mask.nonzero().flatten())
    prune_units(backbone, keep)
    model.eval()
    return PruneResult(model, inner_widths(backbone), float(threshold),
                       params_before, _params(backbone), realized)


def export_pruned(algorithm,
                  threshold: Optional[float] = None,
                  param_budget: Optional[float] = None,
                  round_to: int = 1,
                  min_keep: Optional[float] = None,
                  cost: str = 'params',
                  input_shape: Optional[Sequence[int]] = None
                  ) -> PruneResult:
    """Prune and fold an ``AlternatingAlgorithm``'s architecture.

    Args:
        algorithm: A trained ``astro_mm.AlternatingAlgorithm``.
        threshold (float, optional): Units of the prunable slots with P
            below it are removed; default the algorithm's
            ``prune_threshold``.
        param_budget (float, optional): Instead of ``threshold``, the share
            of the backbone's cost to keep.
        round_to (int): Round every pruned width up to a multiple of this
            (1: no rounding).
        min_keep (float, optional): Share of every slot's units always kept
            (at least one); default the budget-aware mode's, else 0.
        cost (str): What ``param_budget`` counts: ``'params'`` or
            ``'flops'`` (with ``input_shape``).
        input_shape (Sequence[int], optional): (C, H, W) for ``'flops'``.

    Raises:
        ValueError: The backbone belongs to no family with a pruning
            strategy, the algorithm is still in its warm-up (no P), or P
            cannot be folded into a modulated layer.
    """
    scores = algorithm.current_probs()
    if scores is None:
        raise ValueError('the algorithm is still in its warm-up: it has no P '
                         'to prune by (train past warmup_rounds first)')
    if min_keep is None:
        min_keep = algorithm.budget.min_keep if algorithm.budget else 0.
    if param_budget is None and threshold is None:
        threshold = algorithm.prune_threshold
    return prune_architecture(
        algorithm.architecture, algorithm.layers, scores,
        algorithm.current_gates(), threshold, param_budget, round_to,
        min_keep, cost, input_shape)
