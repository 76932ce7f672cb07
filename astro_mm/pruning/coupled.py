"""Channel groups through Torch-Pruning's dependency graph: what they
cost, removing them, and switching them off.

A :class:`ChannelGroup` is a set of channels removed together: an inner
slot of a block (its conv's outputs, the next conv's inputs), or a coupled
group such as a ResNet stage's residual stream (every writer's outputs and
every reader's inputs at once). Which groups a backbone has is its
family's knowledge (``BackboneFamily.channel_groups``, e.g.
:mod:`astro_mm.families.resnet.channel_groups`); this module is what every
family shares.

Torch-Pruning does the slicing of every group, with its own pruning
functions, the same ones the inner-only strategies call (:mod:`.slicing`):
astro_mm keeps no hand-written slicing. What the library does not do and
this module adds: the parameter (or MAC) count as an exact function of
the kept widths (to meet a budget by a prefix of a global ranking, see
:class:`ParamCount`), the channels a prune removes by writer
(:func:`removed_channels`) and switching them off in an unpruned network
(:func:`silence_channels`).
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch_pruning as tp
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .cost import MEASURES, output_positions

NORMS = (_BatchNorm, nn.GroupNorm, nn.LayerNorm)
# The name of the stem's channel group among the stage groups (and of its
# width in ``meta.stage_widths``), where the first block has a downsample
# branch: the stem's output then feeds that block's conv1 and shortcut
# only, a group of its own that Torch-Pruning prunes like any other (as in
# its ResNet-50 examples). No neck reads it.
STEM = 'stem'


@dataclass
class ChannelGroup:
    """Channels that are removed together, one Torch-Pruning group.

    Attributes:
        name (str): An inner slot's layer name (``'layer1.0.conv1'``) or a
            stage's name (``'layer1'``), relative to the backbone.
        kind (str): ``'inner'`` or ``'stage'``.
        conv (nn.Module): The conv whose output channels root the group
            (for a stage: the last conv of its last block).
        group (tp.Group): Torch-Pruning's group of all its channels.
        out_gated (list[nn.Module]): Modules with parameters whose output
            dimension is these channels (convs, norms).
        in_gated (list[nn.Module]): Modules whose input dimension is these
            channels (the next convs; the head's linear for the last stage
            of a traced classifier).
        block (str, optional): For an inner slot, its block's name.
        out_names (list[str]): Names of ``out_gated`` in the backbone.
    """
    name: str
    kind: str
    conv: nn.Module
    group: tp.Group
    out_gated: List[nn.Module]
    in_gated: List[nn.Module]
    block: Optional[str] = None
    out_names: List[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.conv.out_channels


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def example_inputs(backbone: nn.Module, input_size: Sequence[int] = (32, 32)
                   ) -> torch.Tensor:
    """An image batch of one for tracing ``backbone`` (channels: its first
    conv's).

    Raises:
        ValueError: The backbone has no conv.
    """
    conv = next((m for m in backbone.modules()
                 if isinstance(m, nn.modules.conv._ConvNd)), None)
    if conv is None:
        raise ValueError(f'{type(backbone).__name__} has no conv layer')
    weight = conv.weight
    # requires_grad: frozen stages still leave a graph to trace
    return torch.randn(1, conv.in_channels, *input_size, device=weight.device,
                       dtype=weight.dtype, requires_grad=True)


def build_graph(model: nn.Module, example: torch.Tensor,
                forward_fn: Optional[Callable] = None
                ) -> tp.DependencyGraph:
    """Torch-Pruning's dependency graph of ``model`` (a backbone, or a
    classifier whose ``model(x)`` gives its logits: then the head's inputs
    follow the last stage)."""
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            return tp.DependencyGraph().build_dependency(
                model, example_inputs=example,
                forward_fn=forward_fn or (lambda module, x: module(x)),
                verbose=False)
    finally:
        model.train(was_training)


def neck_widths(widths: Dict[str, int]) -> List[int]:
    """The stage outputs of ``stage_widths`` (the stem's left out), in
    order: what ``out_indices`` index."""
    return [width for name, width in widths.items() if name != STEM]


def split_group(graph: tp.DependencyGraph, group: tp.Group):
    """The modules with parameters a group shrinks: (outputs, inputs)."""
    out_gated, in_gated = [], []
    for dep, _ in group:
        module = dep.target.module
        if not isinstance(module, nn.Module) or next(
                module.parameters(recurse=False), None) is None:
            continue  # activations, additions, pooling: nothing to count
        if graph.is_out_channel_pruning_fn(dep.handler):
            out_gated.append(module)
        else:
            in_gated.append(module)
    return out_gated, in_gated


def root_group(graph: tp.DependencyGraph, conv: nn.Module, name: str,
               kind: str, names: Dict[int, str],
               block: Optional[str] = None) -> ChannelGroup:
    """The :class:`ChannelGroup` of every output channel of ``conv``, as
    Torch-Pruning's dependency graph couples them (a family checks it is
    the group it expects).

    Args:
        graph (tp.DependencyGraph): The traced graph holding ``conv``.
        conv (nn.Module): The conv whose output channels root the group.
        name (str): The group's name (an inner slot's layer name, a
            stage's name).
        kind (str): ``'inner'`` or ``'stage'``.
        names (dict): Module names in the backbone by ``id`` (modules
            outside it, a classifier's head, have none).
        block (str, optional): For an inner slot, its block's name.
    """
    group = graph.get_pruning_group(conv, tp.prune_conv_out_channels,
                                    idxs=list(range(conv.out_channels)))
    out_gated, in_gated = split_group(graph, group)
    return ChannelGroup(name, kind, conv, group, out_gated, in_gated, block,
                        [names[id(m)] for m in out_gated if id(m) in names])


class ParamCount:
    """A backbone's parameters (or multiply-adds, given the output
    positions of every conv / linear) as an exact function of its groups'
    widths.

    From the modules each group gates (conv / linear weights: dim 0 by the
    group of their outputs, dim 1 by the group of their inputs; biases and
    norms: dim 0); modules outside ``backbone`` (a classifier's head) are
    not counted: budgets are shares of the backbone.

    Widths may be integers or (differentiable) sums of per-unit gates:
    :meth:`ratio` and :meth:`unit_costs` give the interface
    :func:`~.export.budget_masks` takes.
    """

    def __init__(self, backbone: nn.Module, groups: Sequence[ChannelGroup],
                 positions: Optional[Dict[str, int]] = None):
        own = {id(m) for m in backbone.modules()}
        names = {id(m): n for n, m in backbone.named_modules()}
        gates: Dict[nn.Module, List[Optional[int]]] = {}
        for i, group in enumerate(groups):
            for module in group.out_gated:
                if id(module) in own:
                    gates.setdefault(module, [None, None])[0] = i
            for module in group.in_gated:
                if id(module) in own:
                    gates.setdefault(module, [None, None])[1] = i
        self.full = [group.width for group in groups]
        self._terms = []
        variable = 0
        for module, (out_group, in_group) in gates.items():
            for key, param in module.named_parameters(recurse=False):
                weight = self._weight(names[id(module)], module, key,
                                      positions)
                per = param.numel()
                out_units = param.shape[0] if out_group is not None else None
                in_units = (param.shape[1] if in_group is not None
                            and param.dim() >= 2 else None)
                per //= (out_units or 1) * (in_units or 1)
                self._terms.append((out_group, in_group if in_units else None,
                                    per * weight))
                variable += param.numel() * weight
        if positions is None:
            self.total = params(backbone)
        else:
            self.total = sum(
                module.weight.numel() * positions[name]
                for name, module in backbone.named_modules()
                if name in positions)
        self.fixed = self.total - variable

    @staticmethod
    def _weight(name: str, module: nn.Module, key: str, positions) -> int:
        """What one element of the parameter costs: 1 (parameters), or the
        output positions of a conv / linear weight (multiply-adds: one per
        output position; biases and norms are not counted, as in
        :class:`~.cost.KeptCost`)."""
        if positions is None:
            return 1
        is_weight = key == 'weight' and isinstance(
            module, (nn.modules.conv._ConvNd, nn.Linear))
        return positions[name] if is_weight else 0

    def __call__(self, widths: Sequence) -> int:
        kept = self.fixed
        for out_group, in_group, per in self._terms:
            out_count = widths[out_group] if out_group is not None else 1
            in_count = widths[in_group] if in_group is not None else 1
            kept = kept + out_count * in_count * per
        return kept

    def ratio(self, gates: Sequence[torch.Tensor]) -> torch.Tensor:
        """Kept share of the backbone's parameters for per-group 0 / 1
        gates (one tensor per group)."""
        return torch.as_tensor(self([g.sum() for g in gates]) / self.total)

    def unit_costs(self) -> List[torch.Tensor]:
        """The parameters each channel owns in the unpruned backbone: how
        many go when that channel alone is removed."""
        full = self(self.full)
        costs = []
        for i, width in enumerate(self.full):
            fewer = list(self.full)
            fewer[i] -= 1
            costs.append(torch.full((width, ), float(full - self(fewer))))
        return costs


def cost_count(backbone: nn.Module, groups: Sequence[ChannelGroup],
               measure: str = 'params',
               input_size: Sequence[int] = (32, 32)) -> ParamCount:
    """The backbone's cost in ``measure`` as a function of its groups'
    widths: ``'params'`` (its parameters) or ``'flops'`` (the multiply-adds
    of its convs and linears for one image of ``input_size``, channels its
    first conv's), the definitions of :class:`~.cost.KeptCost` and of the
    prune report (:func:`~.report.flops`), so a budget in either is met in
    the number the report gives.

    Raises:
        ValueError: Unknown ``measure``.
    """
    if measure not in MEASURES:
        raise ValueError(f'measure must be one of {MEASURES}, got '
                         f'{measure!r}')
    if measure == 'params':
        return ParamCount(backbone, groups)
    channels = example_inputs(backbone, input_size).shape[1]
    return ParamCount(backbone, groups,
                      output_positions(backbone, (channels, *input_size)))


def prune_groups(graph: tp.DependencyGraph, groups: Sequence[ChannelGroup],
                 keep: Sequence[torch.Tensor]) -> None:
    """Remove, in place with Torch-Pruning, every channel of group i not in
    ``keep[i]``. Parameters keep their ``requires_grad``."""
    # Torch-Pruning puts new Parameters in place: remember the flags by
    # module and attribute, not by the old Parameter objects
    modules = {id(m): m for g in groups for m in g.out_gated + g.in_gated}
    flags = [(m, name, p.requires_grad) for m in modules.values()
             for name, p in m.named_parameters(recurse=False)]
    # every drop list is taken before any group shrinks (channel indices
    # of the unpruned network)
    drops = [sorted(set(range(group.width)) - set(kept.tolist()))
             for group, kept in zip(groups, keep)]
    for group, drop in zip(groups, drops):
        if drop:
            graph.get_pruning_group(group.conv, tp.prune_conv_out_channels,
                                    idxs=drop).prune()
    for module, name, flag in flags:
        getattr(module, name).requires_grad_(flag)


def removed_channels(groups: Sequence[ChannelGroup],
                     keep: Sequence[torch.Tensor]) -> Dict[str, List[int]]:
    """The channels a coupled prune removes, by the name of every module
    (in the unpruned backbone) whose outputs they are: what
    :func:`silence_channels` switches off to emulate the prune."""
    removed = {}
    for group, kept in zip(groups, keep):
        drop = sorted(set(range(group.width)) - set(kept.tolist()))
        if drop:
            for name in group.out_names:
                removed[name] = drop
    return removed


@torch.no_grad()
def silence_channels(backbone: nn.Module,
                     removed: Dict[str, Sequence[int]]) -> None:
    """Switch off, in place, output channels of an *unpruned* backbone:
    the affine norms (and conv biases) named in ``removed`` output 0 there.

    A stage channel whose every writer outputs 0 is 0 all along the
    residual stream (ReLU keeps 0, the additions add 0), and whatever reads
    it multiplies 0: the backbone then computes exactly what the pruned one
    does, with zeros in the removed channels of its stage outputs.

    Raises:
        ValueError: A named norm has no affine parameters to zero.
    """
    modules = dict(backbone.named_modules())
    for name, idxs in removed.items():
        module = modules[name]
        idxs = torch.as_tensor(list(idxs), dtype=torch.long)
        if isinstance(module, NORMS):
            if module.weight is None or module.bias is None:
                raise ValueError(f'{name}: a norm without affine parameters '
                                 'cannot be switched off channel by channel')
            module.weight[idxs] = 0
            module.bias[idxs] = 0
        elif getattr(module, 'bias', None) is not None:
            module.bias[idxs] = 0
