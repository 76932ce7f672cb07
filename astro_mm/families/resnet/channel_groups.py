"""The channel groups of a ResNet, through Torch-Pruning's dependency graph:
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
that block's conv1 and shortcut only: a group of its own
(:data:`~astro_mm.pruning.coupled.STEM`), pruned like a stage (Torch-
Pruning's own ResNet-50 examples prune it too; without it the stem's
112 x 112 maps, its max-pool and layer1.0's inputs keep their width
whatever the budget). Which layers are coupled is what Torch-Pruning's
DependencyGraph (Fang et al., DepGraph, CVPR 2023) derives from the traced
graph, residual additions included; this module only names the groups (one
per stage, rooted at the last conv of the stage's last block), checks they
are what a ResNet stage should give, and reads and rebuilds the stage
widths. The family-independent part (counting, slicing, switching channels
off) is :mod:`astro_mm.pruning.coupled`.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch
import torch_pruning as tp
from torch import nn

from astro_mm.pruning.coupled import (NORMS, STEM, ChannelGroup, build_graph,
                                      example_inputs, prune_groups,
                                      root_group, split_group)
from .strategy import norm_name, num_convs, residual_blocks


def residual_stages(backbone: nn.Module) -> Dict[str, List[str]]:
    """Block names by stage, in order: ``{'layer1': ['layer1.0', ...]}``
    (a stage is the parent module of its blocks, whatever its name).

    Raises:
        ValueError: The backbone has no residual block.
    """
    blocks = residual_blocks(backbone)
    if not blocks:
        raise ValueError(f'{type(backbone).__name__} has no residual block '
                         'with conv1/norm1, conv2/norm2 (a ResNet)')
    return by_parent(blocks)


def by_parent(blocks: Sequence[str]) -> Dict[str, List[str]]:
    """Block names grouped by their parent module, in order."""
    stages: Dict[str, List[str]] = OrderedDict()
    for name in blocks:
        stages.setdefault(name.rpartition('.')[0], []).append(name)
    return stages


def _last_conv(block: nn.Module) -> nn.Conv2d:
    return getattr(block, f'conv{num_convs(block)}')


def _has_shortcut_conv(block: nn.Module) -> bool:
    """Whether a block's shortcut has a conv (its ``conv1..convN`` are the
    residual branch; any other conv is the downsample branch)."""
    branch = {id(getattr(block, f'conv{i}'))
              for i in range(1, num_convs(block) + 1)}
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


def inner_groups(backbone: nn.Module, graph: tp.DependencyGraph
                 ) -> List[ChannelGroup]:
    """The group of every inner conv, checked to touch only that conv,
    norms of its block, and the next conv's inputs.

    Raises:
        ValueError: A group reaches outside its block, or a conv is grouped.
    """
    names = {id(m): n for n, m in backbone.named_modules()}
    groups = []
    for block_name, block in residual_blocks(backbone).items():
        for index in range(1, num_convs(block)):
            name = f'{block_name}.conv{index}'
            conv = getattr(block, f'conv{index}')
            nxt = getattr(block, f'conv{index + 1}')
            if conv.groups != 1 or nxt.groups != 1:
                raise ValueError(f'{name}: grouped convs are not pruned')
            group = root_group(graph, conv, name, 'inner', names, block_name)
            out_gated = group.out_gated
            for module in out_gated + group.in_gated:
                is_out = any(module is m for m in out_gated)
                expected = (module is conv or isinstance(module, NORMS)
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
            groups.append(group)
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
            for i in range(1, num_convs(block)):
                inner.add(id(getattr(block, f'conv{i}')))
                inner.add(id(getattr(block, norm_name(block, i))))
    groups = []
    first_block = modules[next(iter(stages.values()))[0]]
    if _has_shortcut_conv(first_block):  # the stem is a group of its own
        groups.append(_stem_group(first_block, graph, stages, names))
    for stage, blocks in stages.items():
        group = root_group(graph, _last_conv(modules[blocks[-1]]), stage,
                           'stage', names)
        for module in group.out_gated + group.in_gated:
            if isinstance(module, nn.modules.conv._ConvNd) and \
                    module.groups != 1:
                raise ValueError(f'{names.get(id(module))}: grouped convs '
                                 f'are not pruned (stage {stage})')
        for module in group.out_gated:
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
        groups.append(group)
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
    out_gated, _ = split_group(graph, group)
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
    return root_group(graph, writers[0], STEM, 'stage', names)


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
