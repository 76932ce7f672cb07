"""Which units of a backbone are modulated, and how P acts on them.

A *unit* is one output filter of a conv or one output neuron of a linear
layer. P scales the unit's output **after the normalization layer that
follows it** (METHOD.md): a scale applied to W before a batch norm is
normalized away in training mode, so the task loss would give the
modulator almost no gradient.

In attention layers a unit can also be a whole head: P scales that head's
slice of the attention output, i.e. the input of the output projection
``proj`` (``kind='head'``). Which units a backbone family modulates by
default, and its stage groups, are declared by its family module
(:mod:`astro_mm.families`).
"""
import copy
import re
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Union

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


UNIT_KINDS = ('channel', 'head')


@dataclass
class ModulatedLayer:
    """One modulated conv / linear layer.

    Attributes:
        name (str): Module name inside the backbone, e.g. ``layer1.0.conv1``
            (for heads: the attention module, ``layers.0.attn``).
        weight_module (nn.Module): The conv / linear whose |W| is described
            (for heads: the attention's ``qkv`` linear).
        scale_module (nn.Module): The module whose output P scales: the norm
            layer right after ``weight_module``, or ``weight_module`` itself
            (for heads: ``proj``, whose *input* P scales head by head).
        num_units (int): Output filters / neurons, or heads.
        group (str): The stage the layer belongs to (``layer1``), for
            MA-Net's one-astrocyte-per-stage grouping.
        kind (str): ``'channel'`` (output units of ``weight_module``) or
            ``'head'`` (attention heads).
    """
    name: str
    weight_module: nn.Module
    scale_module: nn.Module
    num_units: int
    group: str
    kind: str = 'channel'

    def unit_weights(self) -> torch.Tensor:
        """The weights of each unit's fan-in, one row per unit.

        A channel's fan-in is its filter / weight row; a head's is its rows
        of the q, k and v projections (``qkv`` lays them out as
        ``(3, heads, head_dims)`` along its outputs).
        """
        weight = self.weight_module.weight
        if self.kind == 'head':
            per_head = weight.view(3, self.num_units, -1, weight.shape[1])
            return per_head.transpose(0, 1).reshape(self.num_units, -1)
        return weight.flatten(1)


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


def _paired_norm(modules, by_name, index: int, name: str, units: int,
                 norm_after):
    """The norm that reads the output of ``modules[index]``, if any: the
    sibling named by the family's ``norm_after`` rule, else the module
    registered right after it."""
    parent, _, attr = name.rpartition('.')
    if attr in norm_after:
        sibling = '.'.join(filter(None, (parent, norm_after[attr])))
        norm = by_name.get(sibling)
        if norm is None or _norm_width(norm) != units:
            raise ValueError(
                f'{name}: its output is read by the norm {sibling!r}, which '
                f'{"is missing" if norm is None else "has another width"} '
                f'(expected a norm of {units} channels)')
        return norm
    if index + 1 < len(modules) and _norm_width(modules[index + 1][1]) == units:
        return modules[index + 1][1]
    return None


def _attention_heads(name: str, module: nn.Module) -> int:
    """Heads of an attention module laid out as qkv -> heads -> proj."""
    qkv, proj = getattr(module, 'qkv', None), getattr(module, 'proj', None)
    heads = getattr(module, 'num_heads', None)
    if not (isinstance(qkv, nn.Linear) and isinstance(proj, nn.Linear)
            and isinstance(heads, int) and heads > 0
            and qkv.out_features % (3 * heads) == 0
            and proj.in_features * 3 == qkv.out_features):
        raise ValueError(
            f'{name} ({type(module).__name__}) cannot have head units: '
            'expected an attention module with a qkv nn.Linear of 3 x '
            'num_heads x head_dims outputs and a proj nn.Linear reading '
            'num_heads x head_dims inputs')
    return heads


def find_modulated_layers(plan: 'FamilyPlan',
                          include: Optional[Sequence[str]] = None,
                          exclude: Optional[Sequence[str]] = None,
                          heads: Union[bool, str, None] = None
                          ) -> List[ModulatedLayer]:
    """List the layers of ``backbone`` that P modulates.

    A conv / linear is paired with the norm layer registered right after it
    when that norm has its width (mmcv / mmpretrain / mmdet / timm ResNets
    register ``conv1, bn1, conv2, bn2, ...`` in that order, downsample
    branches as ``Sequential(conv, bn)``), or with the norm its family's
    rule names (:mod:`.unit_rules`; DenseNet: ``conv1`` -> ``norm2``).

    Args:
        plan (FamilyPlan): The family plan of the task network's backbone
            (:func:`astro_mm.families.resolve_family`): its unit rules,
            default exclusions and stage groups.
        include (Sequence[str], optional): Regexes; when given only matching
            module names are modulated (attention modules too, for heads).
            Defaults to the family's rule (every conv / linear for ResNets,
            the bottleneck convs of DenseNet, the FFN hidden layers of
            vision transformers).
        exclude (Sequence[str], optional): Regexes of names never modulated.
            Defaults to the family's (by default the stem).
        heads (bool | str, optional): Whether whole attention heads are units
            too: None follows the family's rule (on for vision
            transformers), a string is the regex of the attention modules.

    Raises:
        ValueError: No layer is left to modulate, or ``heads`` is asked of a
            backbone whose attention modules are not known.
    """
    if isinstance(plan, nn.Module):
        raise TypeError(f'pass the family plan of {type(plan).__name__} '
                        '(astro_mm.families.resolve_family(backbone))')
    backbone = plan.backbone
    rules, stage_of = plan.unit_rules, plan.stage_of
    if exclude is None:
        exclude = plan.exclude
    channel_include = include if include is not None else rules.include
    if heads is None or heads is True:
        attention = rules.attention
        if heads is True and attention is None:
            raise ValueError(
                f'heads=True, but no attention modules are known for '
                f'{type(backbone).__name__}; pass heads=<regex of the '
                'attention module names> instead')
    else:
        attention = heads or None

    def wanted(name, patterns):
        return (patterns is None or any(re.search(p, name) for p in patterns)
                ) and not any(re.search(p, name) for p in exclude)

    modules = list(backbone.named_modules())
    by_name = dict(modules)
    layers = []
    for i, (name, module) in enumerate(modules):
        if attention is not None and re.search(attention, name) and wanted(
                name, include):
            units = _attention_heads(name, module)
            layers.append(ModulatedLayer(name, module.qkv, module.proj, units,
                                         stage_of(name), kind='head'))
            continue
        if not isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            continue
        if not wanted(name, channel_include):
            continue
        units = _num_units(module)
        norm = _paired_norm(modules, by_name, i, name, units,
                            rules.norm_after)
        layers.append(ModulatedLayer(name, module, norm or module, units,
                                     stage_of(name)))
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
            if layer.kind == 'head':
                self._handles.append(
                    module.register_forward_pre_hook(self._make_head_hook(i)))
            elif isinstance(module, _BatchNorm) and module.affine:
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

    def _make_head_hook(self, index: int) -> Callable:
        # proj reads (N, L, heads * head_dims), head-major: one P per
        # contiguous slice of head_dims channels
        layer = self.layers[index]
        head_dims = layer.scale_module.in_features // layer.num_units

        def hook(module, inputs):
            if self.probs is None:
                return None
            p = self.probs[index].repeat_interleave(head_dims)
            return (inputs[0] * p, *inputs[1:])

        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def unmodulated_copy(module: nn.Module) -> nn.Module:
    """A deep copy of a modulated module (or a part of it) that computes
    the plain network.

    ``copy.deepcopy`` also copies the forward hooks of the
    :class:`UnitScaler`, and those still read the *original* scaler's P;
    every forward hook of the copy is therefore dropped.
    """
    plain = copy.deepcopy(module)
    for child in plain.modules():
        child._forward_hooks.clear()
        child._forward_pre_hooks.clear()
    return plain
