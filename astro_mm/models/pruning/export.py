"""Turn a trained astro algorithm into a smaller plain network.

The units with P < delta are removed (the prunable units of the backbone's
family: inner channels of residual blocks, DenseNet bottleneck channels,
transformer FFN hidden neurons and heads; see :mod:`.strategies`), every
remaining P is folded into the weights (:mod:`.folding`), and the result is
the architecture itself (e.g. an mmpretrain ``ImageClassifier``) with plain
modules: no modulator, no hooks.

With ``param_budget`` the threshold is chosen so the backbone keeps that
share of its parameters (the papers have no such option; users ask for a
size, and with sigmoid outputs few P fall below 1e-3 by themselves).

With ``round_to=N`` every pruned width is rounded up to a multiple of N by
keeping the next-highest-P units, for hardware whose kernels want aligned
widths (GPU tensor cores: multiples of 8). Measured on this project's
2-core CPU (benchmarks/RESULTS.md) it does not pay: ResNet-18 at a 0.6
budget ran 0.73 of the unpruned latency with rounding to 8 and 0.65
without, since rounding keeps more units of the FLOP-heavy early stages;
the default is no rounding.
"""
import copy
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from torch import nn

from ..modulation import unmodulated_copy
from .folding import fold_unit_probs
from .strategies import (PruningStrategy, inner_widths, prune_units,
                         strategy_for)


@dataclass
class PruneResult:
    """What :func:`export_pruned` returns.

    Attributes:
        model (nn.Module): The plain, pruned architecture (eval mode).
        widths (dict): Widths of the prunable slots per block, to rebuild
            the backbone (``astro_mm.PrunedBackbone``).
        threshold (float): The delta used.
        params_before (int): Backbone parameters before pruning.
        params_after (int): Backbone parameters after pruning.
        probs (list[Tensor]): The P the exported network realizes, one per
            modulated layer of the algorithm (0 where a unit was removed or
            zeroed): setting the algorithm's P to these makes it compute
            what the export computes.
    """
    model: nn.Module
    widths: Dict[str, List[int]]
    threshold: float
    params_before: int
    params_after: int
    probs: Optional[List[torch.Tensor]] = None


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _slot_probs(algorithm, strategy: PruningStrategy
                ) -> Dict[str, List[Optional[torch.Tensor]]]:
    """P of each block's prunable slots (None where a slot is not
    modulated)."""
    probs = algorithm.current_probs()
    by_layer = {}
    if probs is not None:
        by_layer = {layer.name: p.detach()
                    for layer, p in zip(algorithm.layers, probs)}
    backbone = algorithm.architecture.backbone
    return {
        name: [by_layer.get(f'{name}.{slot}')
               for slot in strategy.slots(block)]
        for name, block in strategy.blocks(backbone).items()
    }


def _keep(slot_probs, threshold, round_to: int = 1):
    """Indices of units to keep: P >= threshold, at least the best unit,
    the count rounded up to a multiple of ``round_to`` (highest P first)."""
    keep = {}
    for name, probs in slot_probs.items():
        keep[name] = []
        for p in probs:
            if p is None:
                keep[name].append(None)
                continue
            kept = (p >= threshold).nonzero().flatten()
            count = max(kept.numel(), 1)
            count = min(p.numel(), -(-count // round_to) * round_to)
            if count != kept.numel():
                kept = p.topk(count).indices.sort().values
            keep[name].append(kept)
    return keep


def _resolve(backbone, strategy, keep):
    """Replace None (not modulated) by 'keep every unit'."""
    blocks = strategy.blocks(backbone)
    return {
        name: [k if k is not None else torch.arange(width)
               for k, width in zip(keeps, strategy.widths(blocks[name]))]
        for name, keeps in keep.items()
    }


def _backbone_params_after(backbone, strategy, slot_probs, threshold,
                           round_to) -> int:
    pruned = copy.deepcopy(backbone)
    keep = _resolve(pruned, strategy, _keep(slot_probs, threshold, round_to))
    prune_units(pruned, keep)
    return _params(pruned)


def threshold_for_budget(algorithm, param_budget: float,
                         round_to: int = 1) -> float:
    """The smallest delta whose pruning leaves <= ``param_budget`` of the
    backbone's parameters (binary search over the prunable units' P), with
    widths rounded up to multiples of ``round_to``."""
    if not 0 < param_budget <= 1:
        raise ValueError(f'param_budget must be in (0, 1], got {param_budget}')
    backbone = algorithm.architecture.backbone
    strategy = strategy_for(backbone)
    slot_probs = _slot_probs(algorithm, strategy)
    values = torch.cat([p for ps in slot_probs.values() for p in ps
                        if p is not None] or [torch.empty(0)])
    values = values.unique().sort().values
    if values.numel() == 0:
        raise ValueError('no modulated prunable unit: the backbone has no P '
                         'yet (still in warm-up?), or none of its modulated '
                         f'layers is a slot of {strategy.family}')
    target = param_budget * _params(backbone)
    lo, hi = 0, values.numel()  # candidate thresholds: values[i] and above
    while lo < hi:
        mid = (lo + hi) // 2
        # threshold just above values[mid] removes values[0..mid]
        delta = float(values[mid]) + 1e-12
        if _backbone_params_after(backbone, strategy, slot_probs, delta,
                                  round_to) <= target:
            hi = mid
        else:
            lo = mid + 1
    if lo == values.numel():
        return float(values[-1]) + 1e-12  # the budget is out of reach
    return float(values[lo]) + 1e-12


def export_pruned(algorithm,
                  threshold: Optional[float] = 1e-3,
                  param_budget: Optional[float] = None,
                  round_to: int = 1) -> PruneResult:
    """Prune and fold an ``AlternatingAlgorithm``'s architecture.

    Args:
        algorithm: A trained ``astro_mm.AlternatingAlgorithm``.
        threshold (float): delta; units with P < delta are removed (and
            modulated units outside the prunable slots are zeroed).
        param_budget (float, optional): Instead of ``threshold``, the share
            of backbone parameters to keep.
        round_to (int): Round every pruned width up to a multiple of this
            (1: no rounding).

    Raises:
        ValueError: The backbone belongs to no family with a pruning
            strategy, or P cannot be folded into a modulated layer.
    """
    if round_to < 1:
        raise ValueError(f'round_to must be >= 1, got {round_to}')
    if param_budget is not None:
        threshold = threshold_for_budget(algorithm, param_budget, round_to)
    strategy = strategy_for(algorithm.architecture.backbone)
    slot_probs = _slot_probs(algorithm, strategy)
    keep = _keep(slot_probs, threshold, round_to)
    kept_by_layer = {
        f'{name}.{slot}': kept
        for name, block in strategy.blocks(algorithm.architecture.backbone
                                           ).items()
        for slot, kept in zip(strategy.slots(block), keep[name])
        if kept is not None
    }
    probs = algorithm.current_probs()
    realized = None
    model = unmodulated_copy(algorithm.architecture)
    backbone = model.backbone
    params_before = _params(backbone)
    if probs is not None:
        # the copy has the same module names as the algorithm's backbone
        names = {
            id(m): n
            for n, m in algorithm.architecture.backbone.named_modules()
        }
        realized = []
        for layer, p in zip(algorithm.layers, probs):
            p = p.detach()
            kept = kept_by_layer.get(layer.name)
            if kept is None:  # not a prunable slot: zeroed below delta
                mask = p >= threshold
            else:
                mask = torch.zeros_like(p, dtype=torch.bool)
                mask[kept] = True
            realized.append(p * mask)
            scale_module = backbone.get_submodule(names[id(layer.scale_module)])
            fold_unit_probs(layer.name, layer.kind, scale_module, realized[-1])
    prune_units(backbone, _resolve(backbone, strategy, keep))
    model.eval()
    return PruneResult(model, inner_widths(backbone), float(threshold),
                       params_before, _params(backbone), realized)
