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
"""
import copy
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from torch import nn

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
    """
    model: nn.Module
    widths: Dict[str, List[int]]
    threshold: float
    params_before: int
    params_after: int


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


def _keep(slot_probs, threshold):
    """Indices of units to keep: P >= threshold, at least the best unit."""
    keep = {}
    for name, probs in slot_probs.items():
        keep[name] = []
        for p in probs:
            if p is None:
                keep[name].append(None)
                continue
            kept = (p >= threshold).nonzero().flatten()
            keep[name].append(kept if kept.numel() else p.argmax().view(1))
    return keep


def _resolve(backbone, strategy, keep):
    """Replace None (not modulated) by 'keep every unit'."""
    blocks = strategy.blocks(backbone)
    return {
        name: [k if k is not None else torch.arange(width)
               for k, width in zip(keeps, strategy.widths(blocks[name]))]
        for name, keeps in keep.items()
    }


def _backbone_params_after(backbone, strategy, slot_probs, threshold) -> int:
    pruned = copy.deepcopy(backbone)
    keep = _resolve(pruned, strategy, _keep(slot_probs, threshold))
    prune_units(pruned, keep)
    return _params(pruned)


def threshold_for_budget(algorithm, param_budget: float) -> float:
    """The smallest delta whose pruning leaves <= ``param_budget`` of the
    backbone's parameters (binary search over the prunable units' P)."""
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
        if _backbone_params_after(backbone, strategy, slot_probs,
                                  delta) <= target:
            hi = mid
        else:
            lo = mid + 1
    if lo == values.numel():
        return float(values[-1]) + 1e-12  # the budget is out of reach
    return float(values[lo]) + 1e-12


def export_pruned(algorithm,
                  threshold: Optional[float] = 1e-3,
                  param_budget: Optional[float] = None) -> PruneResult:
    """Prune and fold an ``AlternatingAlgorithm``'s architecture.

    Args:
        algorithm: A trained ``astro_mm.AlternatingAlgorithm``.
        threshold (float): delta; units with P < delta are removed (and
            modulated units outside the prunable slots are zeroed).
        param_budget (float, optional): Instead of ``threshold``, the share
            of backbone parameters to keep.

    Raises:
        ValueError: The backbone belongs to no family with a pruning
            strategy, or P cannot be folded into a modulated layer.
    """
    if param_budget is not None:
        threshold = threshold_for_budget(algorithm, param_budget)
    strategy = strategy_for(algorithm.architecture.backbone)
    slot_probs = _slot_probs(algorithm, strategy)
    probs = algorithm.current_probs()
    model = copy.deepcopy(algorithm.architecture)
    # hooks of the algorithm's UnitScaler were copied too: drop them all
    for module in model.modules():
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
    backbone = model.backbone
    params_before = _params(backbone)
    if probs is not None:
        # the copy has the same module names as the algorithm's backbone
        names = {
            id(m): n
            for n, m in algorithm.architecture.backbone.named_modules()
        }
        for layer, p in zip(algorithm.layers, probs):
            p = p.detach()
            scale_module = backbone.get_submodule(names[id(layer.scale_module)])
            fold_unit_probs(layer.name, layer.kind, scale_module,
                            p * (p >= threshold))
    prune_units(backbone, _resolve(backbone, strategy,
                                   _keep(slot_probs, threshold)))
    model.eval()
    return PruneResult(model, inner_widths(backbone), float(threshold),
                       params_before, _params(backbone))
