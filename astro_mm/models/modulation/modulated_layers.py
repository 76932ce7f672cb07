"""Which units of a backbone are modulated, and how P acts on them.

A *unit* is one output filter of a conv or one output neuron of a linear
layer. P scales the unit's output **after the normalization layer that
follows it** (METHOD.md): a scale applied to W before a batch norm is
normalized away in training mode, so the task loss would give the
modulator almost no gradient.
"""
import re
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

# The stem (first conv of mmpretrain / mmdet ResNets, or their deep stem) is
# not modulated by default: it sees raw pixels and is shared by every path.
DEFAULT_EXCLUDE = (r'^conv1$', r'^stem\.')
_STAGE_PATTERN = re.compile(r'^(layer\d+|stages?\.\d+|features\.\w*block\d+)')


@dataclass
class ModulatedLayer:
    """One modulated conv / linear layer.

    Attributes:
        name (str): Module name inside the backbone, e.g. ``layer1.0.conv1``.
        weight_module (nn.Module): The conv / linear whose |W| is described.
        scale_module (nn.Module): The module whose output P scales: the norm
            layer right after ``weight_module``, or ``weight_module`` itself.
        num_units (int): Output filters / neurons.
        group (str): The stage the layer belongs to (``layer1``), for
            MA-Net's one-astrocyte-per-stage grouping.
    """
    name: str
    weight_module: nn.Module
    scale_module: nn.Module
    num_units: int
    group: str


def _num_units(module: nn.Module) -> int:
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.out_channels
    return module.out_features


def _norm_width(module: nn.Module) -> Optional[int]:
    if isinstance(module, (_BatchNorm, nn.GroupNorm, nn.LayerNorm)):
        if isinstance(module, nn.GroupNorm):
            return module.num_channels
        if isinstance(module, nn.LayerNorm):
            return module.normalized_shape[-1]
        return module.num_features
    return None


def find_modulated_layers(backbone: nn.Module,
                          include: Optional[Sequence[str]] = None,
                          exclude: Sequence[str] = DEFAULT_EXCLUDE
                          ) -> List[ModulatedLayer]:
    """List the conv / linear layers of ``backbone`` that P modulates.

    A conv / linear is paired with the norm layer registered right after it
    when that norm has its width (mmcv / mmpretrain / mmdet ResNets register
    ``conv1, bn1, conv2, bn2, ...`` in that order, downsample branches as
    ``Sequential(conv, bn)``).

    Args:
        backbone (nn.Module): The task network's backbone.
        include (Sequence[str], optional): Regexes; when given only matching
            module names are modulated.
        exclude (Sequence[str]): Regexes of names never modulated. Defaults to
            the stem.

    Raises:
        ValueError: No conv / linear layer is left to modulate.
    """
    modules = list(backbone.named_modules())
    layers = []
    for i, (name, module) in enumerate(modules):
        if not isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            continue
        if include is not None and not any(re.search(p, name) for p in include):
            continue
        if any(re.search(p, name) for p in exclude):
            continue
        units = _num_units(module)
        scale_module = module
        if i + 1 < len(modules) and _norm_width(modules[i + 1][1]) == units:
            scale_module = modules[i + 1][1]
        match = _STAGE_PATTERN.match(name)
        group = match.group(1) if match else name.split('.')[0]
        layers.append(ModulatedLayer(name, module, scale_module, units, group))
    if not layers:
        raise ValueError(
            f'{type(backbone).__name__} has no conv / linear layer to modulate '
            f'(include={include}, exclude={tuple(exclude)}); supported are '
            'nn.Conv*d and nn.Linear modules')
    return layers


class UnitScaler:
    """Scales each modulated layer's output by its P, through hooks.

    Hooks leave the backbone's code and state_dict untouched, so any
    registered backbone can be modulated and a checkpoint of the modulated
    backbone loads into the plain one. With ``probs`` set to None the hooks
    return at once: the plain backbone, exactly.

    Where the scale module is an affine batch norm, P is folded into its
    affine parameters for the call: P * (gamma * x_hat + beta) =
    (P * gamma) * x_hat + P * beta. Same function and gradients, but the
    cost is two C-element products instead of a pass over the activation
    map: the TNet's hot path stays as fast as the plain network's.
    """

    def __init__(self, layers: Sequence[ModulatedLayer]):
        self.layers = list(layers)
        self.probs: Optional[List[torch.Tensor]] = None
        self._saved = {}
        self._handles = []
        for i, layer in enumerate(self.layers):
            module = layer.scale_module
            if isinstance(module, _BatchNorm) and module.affine:
                self._handles += [
                    module.register_forward_pre_hook(self._make_fold(i)),
                    module.register_forward_hook(
                        self._make_restore(i), always_call=True)
                ]
            else:
                self._handles.append(
                    module.register_forward_hook(self._make_hook(i)))

    def _make_fold(self, index: int) -> Callable:

        def fold(module, inputs):
            if self.probs is None:
                return None
            p = self.probs[index]
            params = module._parameters
            self._saved[index] = (params['weight'], params['bias'])
            # plain tensors in _parameters for one call: module.weight then
            # reads the scaled values, gradients flow to the real parameters
            params['weight'] = params['weight'] * p
            params['bias'] = params['bias'] * p
            return None

        return fold

    def _make_restore(self, index: int) -> Callable:

        def restore(module, inputs, output):
            saved = self._saved.pop(index, None)
            if saved is not None:
                module._parameters['weight'], module._parameters['bias'] = saved
            return None

        return restore

    def _make_hook(self, index: int) -> Callable:
        # Where the units lie follows from the layer, not from the module
        # hooked: dim 1 of a conv's output (N, C, ...) and of its norm (BN,
        # GN, channels-first LayerNorm2d); the last dim of a linear's output
        # (N, ..., C) and of its norm.
        channels_first = isinstance(self.layers[index].weight_module,
                                    nn.modules.conv._ConvNd)

        def hook(module, inputs, output):
            if self.probs is None:
                return None
            p = self.probs[index]
            if channels_first and output.dim() > 2:
                p = p.view(1, -1, *([1] * (output.dim() - 2)))
            return output * p

        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
