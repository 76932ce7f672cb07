"""Turn a trained astro algorithm into a smaller plain network.

The units with P < delta are removed (inner channels of residual blocks;
see :mod:`.resnet_pruning`), every remaining P is folded into the weights,
and the result is the architecture itself (e.g. an mmpretrain
``ImageClassifier``) with plain modules: no modulator, no hooks.

With ``param_budget`` the threshold is chosen so the backbone keeps that
share of its parameters (the papers have no such option; users ask for a
size, and with sigmoid outputs few P fall below 1e-3 by themselves).
"""
import copy
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from torch import nn

from .resnet_pruning import (fold_probs, inner_widths, prune_inner_channels,
                             residual_blocks)


@dataclass
class PruneResult:
    """What :func:`export_pruned` returns.

    Attributes:
        model (nn.Module): The plain, pruned architecture (eval mode).
        widths (dict): Inner widths per block, to rebuild the backbone.
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


def _inner_probs(algorithm) -> Dict[str, List[Optional[torch.Tensor]]]:
    """P of each block's inner convs (None where a conv is not modulated)."""
    probs = algorithm.current_probs()
    by_conv = {}
    if probs is not None:
        by_conv = {l.name: p.detach() for l, p in zip(algorithm.layers, probs)}
    backbone = algorithm.architecture.backbone
    return {
        name: [by_conv.get(f'{name}.conv{i + 1}') for i in range(len(widths))]
        for name, widths in inner_widths(backbone).items()
    }


def _keep(inner, threshold):
    """Indices of units to keep: P >= threshold, at least the best unit."""
    keep = {}
    for name, probs in inner.items():
        keep[name] = []
        for p in probs:
            if p is None:
                keep[name].append(None)
                continue
            kept = (p >= threshold).nonzero().flatten()
            keep[name].append(kept if kept.numel() else p.argmax().view(1))
    return keep


def _backbone_params_after(backbone, inner, threshold) -> int:
    pruned = copy.deepcopy(backbone)
    keep = _keep(inner, threshold)
    prune_inner_channels(pruned, _resolve(pruned, keep))
    return _params(pruned)


def _resolve(backbone, keep):
    """Replace None (not modulated) by 'keep every unit'."""
    blocks = residual_blocks(backbone)
    out = {}
    for name, keeps in keep.items():
        out[name] = [
            k if k is not None else torch.arange(
                getattr(blocks[name], f'conv{i + 1}').out_channels)
            for i, k in enumerate(keeps)
        ]
    return out


def threshold_for_budget(algorithm, param_budget: float) -> float:
    """The smallest delta whose pruning leaves <= ``param_budget`` of the
    backbone's parameters (binary search over the inner units' P)."""
    if not 0 < param_budget <= 1:
        raise ValueError(f'param_budget must be in (0, 1], got {param_budget}')
    backbone = algorithm.architecture.backbone
    inner = _inner_probs(algorithm)
    values = torch.cat([p for ps in inner.values() for p in ps
                        if p is not None]).unique().sort().values
    if values.numel() == 0:
        raise ValueError('no modulated inner channel to prune: the backbone '
                         'has no P yet (still in warm-up?)')
    target = param_budget * _params(backbone)
    lo, hi = 0, values.numel()  # candidate thresholds: values[i] and above
    while lo < hi:
        mid = (lo + hi) // 2
        # threshold just above values[mid] removes values[0..mid]
        delta = float(values[mid]) + 1e-12
        if _backbone_params_after(backbone, inner, delta) <= target:
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
        threshold (float): delta; units with P < delta are removed.
        param_budget (float, optional): Instead of ``threshold``, the share
            of backbone parameters to keep.
    """
    if param_budget is not None:
        threshold = threshold_for_budget(algorithm, param_budget)
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
        fold_probs(backbone, {
            names[id(layer.scale_module)]: p.detach() * (p.detach() >= threshold)
            for layer, p in zip(algorithm.layers, probs)
        })
    keep = _resolve(backbone, _keep(_inner_probs(algorithm), threshold))
    prune_inner_channels(backbone, keep)
    model.eval()
    return PruneResult(model, inner_widths(backbone), float(threshold),
                       params_before, _params(backbone))
