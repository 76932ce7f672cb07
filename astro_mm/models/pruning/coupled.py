"""Channel groups of a ResNet, through Torch-Pruning's dependency graph:
inner channels, and the coupled channels of each stage's residual stream.

An *inner* channel of a residual block (an output of any conv of the block
but the last) is read by the next conv of the block only: removing it
shrinks that conv, its norm and the next conv's inputs, and leaves the
block's output width as it is (astro_mm's default scope, METHOD.md).

A *stage* channel is one channel of a stage's residual stream. Every block
of the stage adds its last conv + norm to the stream, the first block's
shortcut (downsample conv + norm, or for a stage without one the stem or
the previous stage) writes into it, and every block of the stage and the
first block of the next stage (its conv1 and downsample conv) read it. So
removing it removes one output channel of all those writers and one input
channel of all those readers at once: the *coupled* pruning that makes
block outputs, the residual additions and the next stage's inputs shrink,
the latency lever inner pruning does not pull. Where the first block has
a downsample (ResNet-50's bottleneck layout), the stem's output is read by
that block's conv1 and shortcut only: a group of its own (:data:`STEM`),
pruned like a stage (Torch-Pruning's own ResNet-50 examples prune it too;
without it the stem's 112 x 112 maps, its max-pool and layer1.0's inputs
keep their width whatever the budget). Which layers are coupled is
what Torch-Pruning's DependencyGraph (Fang et al., DepGraph, CVPR 2023)
derives from the traced graph, residual additions included; this module
only names the groups (one per stage, rooted at the last conv of the
stage's last block), checks they are what a ResNet stage should give, and
counts what each leaves.

Torch-Pruning does the slicing of both kinds of group, with its own
pruning functions, the same ones the inner-only strategies call
(:mod:`.slicing`): astro_mm keeps no hand-written slicing. What the
library does not do and this module adds: the parameter count as an exact
function of the kept widths (to meet a budget by a prefix of a global
ranking, see :class:`ParamCount`), the stage widths the detectors' necks
read from a checkpoint's meta (:func:`stage_widths`), and rebuilding a
backbone of given stage widths from a fresh one (:func:`shrink_stages`).
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch_pruning as tp
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .resnet_pruning import ResNetPruning, _norm_name, _num_convs

_NORMS = (_BatchNorm, nn.GroupNorm, nn.LayerNorm)
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


def resnet_strategy(backbone: nn.Module, what: str) -> ResNetPruning:
    """The backbone's strategy, if it is the ResNet one.

    Raises:
        ValueError: Another family (or none); ``what`` names the caller.
    """
    from ..families import resolve_family
    plan = resolve_family(backbone)
    plan.require_coupled(what)
    return plan.strategy


def residual_stages(backbone: nn.Module) -> Dict[str, List[str]]:
    """Block names by stage, in order: ``{'layer1': ['layer1.0', ...]}``
    (a stage is the parent module of its blocks)."""
    from ..families import resolve_family
    plan = resolve_family(backbone)
    plan.require_coupled('coupled pruning')
    return plan.stages


def _last_conv(block: nn.Module) -> nn.Conv2d:
    return getattr(block, f'conv{_num_convs(block)}')


def _has_shortcut_conv(block: nn.Module) -> bool:
    """Whether a block's shortcut has a conv (its ``conv1..convN`` are the
    residual branch; any other conv is the downsample branch)."""
    branch = {id(getattr(block, f'conv{i}'))
              for i in range(1, _num_convs(block) + 1)}
    return any(isinstance(m, nn.modules.conv._ConvNd) and id(m) not in branch
               for m in block.modules())


def stem_width(backbone: nn.Module) -> Optional[int]:
    """The stem's output width where the stem is a group of its own (the
    first block has a shortcut conv: ResNet-50's bottleneck layout), else
    None (the stem writes into the first stage's stream: ResNet-18)."""
    first_stage = next(iter(residual_stages(backbone).values()))
    first = backbone.get_submodule(first_stage[0])
    return first.conv1.in_channels if _has_shortcut_conv(first) else None


def stage_widths(backbone: nn.Module) -> Dict[str, int]:
    """Output width of every stage of a ResNet: ``{'layer1': 64, ...}``
    (what a detector's neck reads, in ``out_indices`` order), preceded by
    ``'stem'`` where the stem is a channel group of its own
    (:func:`stem_width`; no neck reads it, see :data:`STEM`)."""
    modules = dict(backbone.named_modules())
    widths = OrderedDict()
    stem = stem_width(backbone)
    if stem is not None:
        widths[STEM] = stem
    widths.update(
        (stage, _last_conv(modules[blocks[-1]]).out_channels)
        for stage, blocks in residual_stages(backbone).items())
    return widths


def neck_widths(widths: Dict[str, int]) -> List[int]:
    """The stage outputs of ``stage_widths`` (the stem's left out), in
    order: what ``out_indices`` index."""
    return [width for name, width in widths.items() if name != STEM]


def _split(graph: tp.DependencyGraph, group: tp.Group):
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


def inner_groups(backbone: nn.Module, graph: tp.DependencyGraph
                 ) -> List[ChannelGroup]:
    """The group of every inner conv, checked to touch only that conv,
    norms of its block, and the next conv's inputs.

    Raises:
        ValueError: A group reaches outside its block, or a conv is grouped.
    """
    from ..families import resolve_family
    plan = resolve_family(backbone)
    plan.require_coupled('inner-channel pruning')
    names = {id(m): n for n, m in backbone.named_modules()}
    groups = []
    for block_name, block in plan.blocks.items():
        for index, name in enumerate(plan.slots[block_name], start=1):
            conv = backbone.get_submodule(name)
            nxt = getattr(block, f'conv{index + 1}')
            if conv.groups != 1 or nxt.groups != 1:
                raise ValueError(f'{name}: grouped convs are not pruned')
            group = graph.get_pruning_group(
                conv, tp.prune_conv_out_channels,
                idxs=list(range(conv.out_channels)))
            out_gated, in_gated = _split(graph, group)
            for module in out_gated + in_gated:
                is_out = any(module is m for m in out_gated)
                expected = (module is conv or isinstance(module, _NORMS)
                            and any(module is child
                                    for child in block.children())
                            ) if is_out else module is nxt
                if not expected:
                    raise ValueError(
                        f'the channels of {name} reach '
                        f'{names.get(id(module), type(module).__name__)} '
                        f'({"outputs" if is_out else "inputs"}); expected '
                        f'only {name}, its norm and the inputs of '
                        f'{block_name}.conv{index + 1}')
            groups.append(ChannelGroup(
                name, 'inner', conv, group, out_gated, in_gated, block_name,
                [names[id(m)] for m in out_gated]))
    return groups


def stage_groups(backbone: nn.Module, graph: tp.DependencyGraph
                 ) -> List[ChannelGroup]:
    """The residual-stream group of every stage, rooted at the last conv
    of its last block.

    Checked: the group's outputs are convs / norms of that stage (every
    block's last conv and norm, the downsample branch) or, for a stage
    whose first block has no downsample, of the stem / the previous
    stream; never an inner conv.

    Raises:
        ValueError: A group writes into an inner channel or another stage
            (the backbone is not a ResNet this scope knows), or a conv is
            grouped.
    """
    modules = dict(backbone.named_modules())
    names = {id(m): n for n, m in modules.items()}
    stages = residual_stages(backbone)
    inner = set()
    for blocks in stages.values():
        for block_name in blocks:
            block = modules[block_name]
            for i in range(1, _num_convs(block)):
                inner.add(id(getattr(block, f'conv{i}')))
                inner.add(id(getattr(block, _norm_name(block, i))))
    groups = []
    first_block = modules[next(iter(stages.values()))[0]]
    if _has_shortcut_conv(first_block):  # the stem is a group of its own
        groups.append(_stem_group(first_block, graph, stages, names))
    for stage, blocks in stages.items():
        root = _last_conv(modules[blocks[-1]])
        group = graph.get_pruning_group(
            root, tp.prune_conv_out_channels,
            idxs=list(range(root.out_channels)))
        out_gated, in_gated = _split(graph, group)
        for module in out_gated + in_gated:
            if isinstance(module, nn.modules.conv._ConvNd) and \
                    module.groups != 1:
                raise ValueError(f'{names.get(id(module))}: grouped convs '
                                 f'are not pruned (stage {stage})')
        for module in out_gated:
            name = names.get(id(module), type(module).__name__)
            in_stage = name.startswith(stage + '.')
            # a stage whose first block has no downsample shares its stream
            # with the stem (outside every stage); a stream shared by two
            # stages would be counted twice
            stem = not any(name.startswith(s + '.') for s in stages)
            if id(module) in inner or not (in_stage or stem):
                raise ValueError(
                    f'the residual stream of {stage} reaches the outputs of '
                    f'{name}, which is neither a block output, the '
                    f'shortcut of {stage} nor the stem: not a ResNet stage '
                    f'that coupled pruning knows (a stage without '
                    f'downsample after another stage?)')
        groups.append(ChannelGroup(
            stage, 'stage', root, group, out_gated, in_gated, None,
            [names[id(m)] for m in out_gated if id(m) in names]))
    return groups


def _stem_group(first_block: nn.Module, graph: tp.DependencyGraph,
                stages: Dict[str, List[str]], names: Dict[int, str]
                ) -> ChannelGroup:
    """The group of the stem's output channels (:data:`STEM`), found from
    what the first block reads: rooted at the one conv that writes them,
    checked to write nothing inside a stage.

    Raises:
        ValueError: The first block's inputs are written by no conv, by
            more than one, or by a layer of a stage.
    """
    reader = first_block.conv1
    group = graph.get_pruning_group(
        reader, tp.prune_conv_in_channels,
        idxs=list(range(reader.in_channels)))
    out_gated, _ = _split(graph, group)
    in_stage = [names.get(id(m), type(m).__name__) for m in out_gated
                if any(names.get(id(m), '').startswith(s + '.')
                       for s in stages)]
    writers = [m for m in out_gated
               if isinstance(m, nn.modules.conv._ConvNd)]
    if in_stage or len(writers) != 1 or writers[0].groups != 1:
        raise ValueError(
            f'the inputs of the first block are written by '
            f'{[names.get(id(m)) for m in out_gated]}; expected one '
            f'ungrouped stem conv (and its norm) outside every stage')
    root = writers[0]
    group = graph.get_pruning_group(root, tp.prune_conv_out_channels,
                                    idxs=list(range(root.out_channels)))
    out_gated, in_gated = _split(graph, group)
    return ChannelGroup(STEM, 'stage', root, group, out_gated, in_gated,
                        None, [names[id(m)] for m in out_gated
                               if id(m) in names])


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
    from .cost import COST_KINDS, _output_positions
    if measure not in COST_KINDS:
        raise ValueError(f'measure must be one of {COST_KINDS}, got '
                         f'{measure!r}')
    if measure == 'params':
        return ParamCount(backbone, groups)
    channels = example_inputs(backbone, input_size).shape[1]
    return ParamCount(backbone, groups,
                      _output_positions(backbone, (channels, *input_size)))


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


def kept_stage_channels(backbone: nn.Module,
                        removed: Dict[str, Sequence[int]]
                        ) -> Dict[str, torch.Tensor]:
    """The channels of every stage output of the unpruned ``backbone``
    that a coupled prune kept (``removed``: :func:`removed_channels`), in
    the pruned network's order: ``{'layer1': tensor([0, 2, ...]), ...}``."""
    modules = dict(backbone.named_modules())
    kept = OrderedDict()
    for stage, blocks in residual_stages(backbone).items():
        root = _last_conv(modules[blocks[-1]])
        name = next(n for n, m in modules.items() if m is root)
        drop = set(removed.get(name, ()))
        kept[stage] = torch.tensor(
            [c for c in range(root.out_channels) if c not in drop],
            dtype=torch.long)
    return kept


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
        if isinstance(module, _NORMS):
            if module.weight is None or module.bias is None:
                raise ValueError(f'{name}: a norm without affine parameters '
                                 'cannot be switched off channel by channel')
            module.weight[idxs] = 0
            module.bias[idxs] = 0
        elif getattr(module, 'bias', None) is not None:
            module.bias[idxs] = 0


def shrink_stages(backbone: nn.Module, widths: Dict[str, int],
                  input_size: Sequence[int] = (64, 64)) -> nn.Module:
    """Give a freshly built ResNet the stage widths of a coupled-pruned one
    (the first channels of each stage stay: their weights come from the
    checkpoint), in place with Torch-Pruning. Returns ``backbone``.

    Raises:
        ValueError: ``widths`` names a stage the backbone lacks, or a width
            outside [1, original].
    """
    full = stage_widths(backbone)
    for stage, width in widths.items():
        if stage not in full:
            raise ValueError(f'stage_widths name stage {stage!r}, which '
                             f'{type(backbone).__name__} does not have '
                             f'(its stages: {", ".join(full)})')
        if not 1 <= int(width) <= full[stage]:
            raise ValueError(f'stage {stage}: width {width} outside '
                             f'[1, {full[stage]}]')
    if all(int(widths.get(s, w)) == w for s, w in full.items()):
        return backbone  # nothing to trace
    graph = build_graph(backbone, example_inputs(backbone, input_size))
    groups = [g for g in stage_groups(backbone, graph) if g.name in widths]
    prune_groups(graph, groups,
                 [torch.arange(int(widths[g.name])) for g in groups])
    return backbone
