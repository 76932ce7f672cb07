"""Pruning strategies: how the units of a backbone family are removed.

A strategy sees a backbone as *blocks* (found by module name), each with an
ordered list of *slots*: the modulated layers of the block whose units can
be removed without changing the block's output width (METHOD.md's default
scope), named relative to the block; a
:class:`~astro_mm.families.FamilyPlan` lists their full names
(``plan.slots``), those of the
:class:`~astro_mm.models.modulated.ModulatedLayer` that give their P. The
*widths* of a backbone, ``{block: [units per slot]}``, are all a pruned
backbone is rebuilt from (``astro_mm.PrunedBackbone``).

A strategy is one part of a backbone family (:mod:`astro_mm.families`,
one folder each): ``families/resnet/strategy.py`` (inner channels of
residual blocks), ``families/densenet/strategy.py`` (bottleneck channels),
``families/transformer/strategy.py`` (FFN hidden neurons, attention heads).
This module holds the interface, the cost terms every strategy declares,
and the two loops over blocks every family shares.
"""
from dataclasses import dataclass
import sys
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn


def loaded_class(module_name: str, class_name: str) -> Optional[type]:
    """A class of a module already imported, else None.

    A strategy recognizes the blocks of other libraries (mmpretrain's
    ``DenseLayer``, mmcv's ``FFN``) by class without importing them: a
    backbone can only hold an instance of a class whose module has been
    imported. Resolving a ResNet's family therefore never imports
    mmpretrain.
    """
    module = sys.modules.get(module_name)
    return getattr(module, class_name, None) if module is not None else None


@dataclass(frozen=True)
class CostTerm:
    """A parameter tensor of a block whose size depends on its slots.

    The tensor holds ``per_pair`` elements for every pair (output unit,
    input unit); a dimension gated by a slot shrinks with that slot's kept
    units, so pruning leaves ``out_kept * in_kept * per_pair`` elements.

    Attributes:
        module (str): The module holding the tensor, relative to the block
            (its output's spatial size turns parameters into MACs).
        out_slot (int, optional): The slot gating the output dimension.
        out_units (int): The full output dimension.
        in_slot (int, optional): The slot gating the input dimension.
        in_units (int): The full input dimension (1 for a bias or a norm).
        per_pair (int): Elements per (output, input) pair (kernel size).
        is_weight (bool): A conv / linear weight: counted in MACs too.
    """
    module: str
    out_slot: Optional[int]
    out_units: int
    in_slot: Optional[int]
    in_units: int
    per_pair: int
    is_weight: bool = True


def layer_cost_terms(module_name: str, module: nn.Module,
                     out_slot: Optional[int] = None,
                     in_slot: Optional[int] = None,
                     out_group: int = 1) -> List[CostTerm]:
    """The cost terms of one conv / linear / affine norm of a block.

    Args:
        module_name (str): Its name relative to the block.
        module (nn.Module): The layer.
        out_slot, in_slot (int, optional): Slots gating its outputs / inputs.
        out_group (int): Output rows per gated unit (3 x head_dims for the
            qkv rows of a head, 1 otherwise); for a linear whose *inputs*
            are grouped (proj reading heads) pass the group size as
            ``out_group`` with ``in_slot`` set: the per-pair size.

    Raises:
        ValueError: The layer is a grouped conv or of an unknown type.
    """
    if isinstance(module, nn.modules.conv._ConvNd):
        if module.groups != 1:
            raise ValueError(f'{module_name}: grouped convs have no cost '
                             'model (their channels belong to groups)')
        kernel = module.weight[0, 0].numel()
        terms = [CostTerm(module_name, out_slot, module.out_channels,
                          in_slot, module.in_channels, kernel)]
        if module.bias is not None:
            terms.append(CostTerm(module_name, out_slot, module.out_channels,
                                  None, 1, 1, is_weight=False))
        return terms
    if isinstance(module, nn.Linear):
        out_units = module.out_features // (out_group if out_slot is not None
                                            else 1)
        in_units = module.in_features // (out_group if in_slot is not None
                                          else 1)
        terms = [CostTerm(module_name, out_slot, out_units, in_slot, in_units,
                          out_group)]
        if module.bias is not None:
            terms.append(CostTerm(
                module_name, out_slot, out_units, None, 1,
                out_group if out_slot is not None else 1, is_weight=False))
        return terms
    params = sum(p.numel() for p in module.parameters(recurse=False))
    width = params // 2 if params else 0
    if width == 0:
        return []
    return [CostTerm(module_name, out_slot, width, None, 1, 2,
                     is_weight=False)]


class PruningStrategy:
    """Base class: one backbone family's prunable units.

    Subclasses set ``family`` (a name for messages) and implement the
    methods below; which backbones they prune is declared by a
    :class:`~astro_mm.families.BackboneFamily`.
    """
    family = ''

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

    def cost_terms(self, block: nn.Module) -> List[CostTerm]:
        """Every parameter tensor of the block that :meth:`prune` shrinks,
        with the slots that gate it (see :class:`CostTerm`): the exact
        parameter count of any pruned width is read off these terms."""
        raise NotImplementedError


def prune_with_strategy(strategy: PruningStrategy, backbone: nn.Module,
                        keep: Dict[str, Sequence[torch.Tensor]]
                        ) -> nn.Module:
    """Remove units in place: ``keep[block][i]`` indexes the units of slot
    i that stay. Returns ``backbone``.

    Raises:
        ValueError: ``keep`` names a block the backbone lacks.
    """
    blocks = strategy.blocks(backbone)
    for name, keeps in keep.items():
        if name not in blocks:
            raise ValueError(f'keep names block {name!r}, which '
                             f'{type(backbone).__name__} does not have')
        strategy.prune(blocks[name],
                       [torch.as_tensor(k, dtype=torch.long) for k in keeps])
    return backbone


def shrink_with_strategy(strategy: PruningStrategy, backbone: nn.Module,
                         widths: Dict[str, Sequence[int]]) -> nn.Module:
    """Give a freshly built backbone the widths of a pruned one (the first
    units of each slot stay: their weights come from the checkpoint); what
    a family's :meth:`~astro_mm.families.BackboneFamily.rebuild` does after
    its stage widths.

    Raises:
        ValueError: ``widths`` names a block the backbone lacks, gives the
            wrong number of widths for a block, or a width outside
            [1, original].
    """
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
    return prune_with_strategy(strategy, backbone, keep)
