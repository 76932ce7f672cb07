"""Pruning strategies: how the units of each backbone family are removed.

A strategy sees a backbone as *blocks* (found by module name), each with an
ordered list of *slots*: the modulated layers of the block whose units can
be removed without changing the block's output width (METHOD.md's default
scope), named relative to the block, so that ``f'{block}.{slot}'`` is the
name of the :class:`~astro_mm.models.modulation.ModulatedLayer` that gives
their P. The *widths* of a backbone, ``{block: [units per slot]}``, are all
a pruned backbone is rebuilt from (``astro_mm.PrunedBackbone``).

Families (``strategy_for`` takes the first, by ``priority``, that finds
blocks in the backbone):

* ``DenseNetPruning``: the bottleneck channels of each dense layer;
* ``TransformerPruning``: FFN hidden neurons and attention heads;
* ``ResNetPruning``: inner channels of residual blocks (mmpretrain, mmdet
  and timm ResNets).
"""
from typing import Dict, List, Sequence, Type

import torch
from torch import nn

_STRATEGIES: List['PruningStrategy'] = []


class PruningStrategy:
    """Base class: one backbone family's prunable units.

    Subclasses set ``family`` (a name for messages) and ``priority`` (lower
    is tried first: the most specific block pattern goes first) and
    implement the four methods below.
    """
    family = ''
    priority = 50

    def blocks(self, backbone: nn.Module) -> Dict[str, nn.Module]:
        """The prunable blocks of ``backbone`` by module name; empty when
        the backbone is not of this family."""
        raise NotImplementedError

    def slots(self, block: nn.Module) -> List[str]:
        """Names (relative to the block) of the block's prunable layers."""
        raise NotImplementedError

    def widths(self, block: nn.Module) -> List[int]:
        """Units of each slot, in ``slots`` order."""
        raise NotImplementedError

    def prune(self, block: nn.Module, keep: Sequence[torch.Tensor]) -> None:
        """Keep, in place, the units ``keep[i]`` of slot i (and the inputs
        of the layers that read them)."""
        raise NotImplementedError


def register_strategy(cls: Type[PruningStrategy]) -> Type[PruningStrategy]:
    """Class decorator: make the family known to :func:`strategy_for`."""
    _STRATEGIES.append(cls())
    _STRATEGIES.sort(key=lambda strategy: strategy.priority)
    return cls


def strategy_for(backbone: nn.Module) -> PruningStrategy:
    """The strategy of ``backbone``'s family.

    Raises:
        ValueError: No family knows a block of ``backbone``.
    """
    for strategy in _STRATEGIES:
        if strategy.blocks(backbone):
            return strategy
    families = ', '.join(s.family for s in _STRATEGIES)
    raise ValueError(
        f'{type(backbone).__name__} has no prunable block of a known family '
        f'({families})')


def inner_widths(backbone: nn.Module) -> Dict[str, List[int]]:
    """Widths of every prunable slot, by block: ``{'layer1.0': [64], ...}``
    for a ResNet-18, ``{'layers.0': [12, 3072], ...}`` (heads, FFN hidden)
    for a ViT-B."""
    strategy = strategy_for(backbone)
    return {name: strategy.widths(block)
            for name, block in strategy.blocks(backbone).items()}


def prune_units(backbone: nn.Module,
                keep: Dict[str, Sequence[torch.Tensor]]) -> nn.Module:
    """Remove units in place: ``keep[block][i]`` indexes the units of slot
    i that stay. Returns ``backbone``."""
    strategy = strategy_for(backbone)
    blocks = strategy.blocks(backbone)
    for name, keeps in keep.items():
        strategy.prune(blocks[name],
                       [torch.as_tensor(k, dtype=torch.long) for k in keeps])
    return backbone


def shrink_to_widths(backbone: nn.Module,
                     widths: Dict[str, Sequence[int]]) -> nn.Module:
    """Give a freshly built backbone the widths of a pruned one (the first
    units of each slot stay: their weights come from the checkpoint).

    Raises:
        ValueError: ``widths`` names a block the backbone lacks, gives the
            wrong number of widths for a block, or a width outside
            [1, original].
    """
    strategy = strategy_for(backbone)
    blocks = strategy.blocks(backbone)
    keep = {}
    for name, block_widths in widths.items():
        if name not in blocks:
            raise ValueError(f'widths name block {name!r}, which '
                             f'{type(backbone).__name__} does not have')
        slots = strategy.slots(blocks[name])
        full = strategy.widths(blocks[name])
        if len(block_widths) != len(slots):
            raise ValueError(
                f'block {name} has {len(slots)} inner widths '
                f'({", ".join(slots)}), got {list(block_widths)}')
        for slot, width, limit in zip(slots, block_widths, full):
            if not 1 <= width <= limit:
                raise ValueError(f'{name}.{slot}: width {width} outside '
                                 f'[1, {limit}]')
        keep[name] = [torch.arange(width) for width in block_widths]
    return prune_units(backbone, keep)
