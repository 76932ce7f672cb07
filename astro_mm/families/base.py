"""A backbone family: everything astro_mm knows about one kind of backbone.

A family declares, in one class registered in ``astro_mm.registry.FAMILIES``:

* which units are modulated and where P acts (:attr:`unit_rules`, by the
  backbone's class name, and :attr:`exclude`);
* its stage groups (:meth:`stage_of`: MA-Net's one astrocyte per stage);
* what is prunable (:attr:`strategy`: the inner units; with
  :attr:`supports_coupled`, the stage channels too);
* how a pruned backbone is rebuilt for mmdet / mmpretrain from the widths
  in a checkpoint's meta (:meth:`rebuild`) and which stage widths a
  detector's neck reads (:meth:`stage_widths`);
* Grad-CAM's layer (:meth:`gradcam_layer`).

Callers do not match module names themselves: the family is resolved once
per backbone (:func:`resolve_family`: when the algorithm is built, when a
tool or hook starts pruning) and the :class:`FamilyPlan` is handed down;
modulation (:mod:`astro_mm.models.modulated`) and pruning
(:mod:`astro_mm.pruning`) read the plan and never look a family up, so
they sit below this package and import nothing from it. Adding a family
means adding one folder beside ``resnet/`` with one registered subclass.
"""
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch_pruning as tp
from torch import nn

from astro_mm.models.modulated.unit_rules import DEFAULT_RULES, UnitRules
from astro_mm.pruning.coupled import ChannelGroup
from astro_mm.pruning.strategies import (PruningStrategy,
                                         prune_with_strategy,
                                         shrink_with_strategy)
from astro_mm.registry import FAMILIES

# The generic defaults, which every family may override. The stem (first conv of mmpretrain / mmdet / timm ResNets, or their deep
# stem) is not modulated by default: it sees raw pixels and is shared by
# every path.
DEFAULT_EXCLUDE = (r'^conv1$', r'^stem\.', r'^timm_model\.(conv1|stem)(\.|$)')
# The stage (MA-Net's default group) a layer belongs to, unless its family
# says otherwise: ResNet layer{i},
# DenseNet / Swin / ConvNeXt stages.{i}, ViT layers.{i}, timm blocks.{i};
# timm models wrapped by mmpretrain's TIMMBackbone under timm_model.
STAGE_PATTERN = re.compile(
    r'^((?:timm_model\.)?(?:layer\d+|layers\.\d+|stages?\.\d+|blocks\.\d+'
    r'|features\.\w*block\d+))')


def _class_names(backbone: nn.Module) -> List[str]:
    """The names a family may know ``backbone`` by: its classes, most
    derived first; for a timm model wrapped by mmpretrain's
    ``TIMMBackbone``, its timm model's classes as ``timm.<Name>``."""
    timm_model = getattr(backbone, 'timm_model', None)
    if isinstance(timm_model, nn.Module):
        return ['timm.' + cls.__name__ for cls in type(timm_model).__mro__]
    return [cls.__name__ for cls in type(backbone).__mro__]


class BackboneFamily:
    """Base class of a backbone family; its defaults describe a backbone of
    no registered family (every conv / linear but the stem modulated, P
    after the norm registered right after it; not prunable).

    Subclasses set the attributes below and register with
    ``@FAMILIES.register_module()``.

    Attributes:
        name (str): For messages, e.g. ``'ResNet residual blocks'``.
        priority (int): Order in which families are asked whether a backbone
            is theirs by its blocks (lower first: the most specific block
            pattern goes first).
        unit_rules (dict): :class:`UnitRules` by backbone class name (timm
            models wrapped by mmpretrain's ``TIMMBackbone``: ``timm.<Name>``);
            a backbone whose class (or a base class) is named here belongs
            to the family whatever its blocks.
        exclude (tuple[str]): Regexes of module names never modulated by
            default.
        strategy (PruningStrategy, optional): The family's prunable units;
            None: the family is not prunable.
        supports_coupled (bool): Stage channels (the residual stream) can be
            pruned too (:meth:`channel_groups` with ``coupled``).
    """
    name = 'no registered family'
    priority = 50
    unit_rules: Dict[str, UnitRules] = {}
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    strategy: Optional[PruningStrategy] = None
    supports_coupled = False

    # -- membership --------------------------------------------------------
    def rules_for(self, backbone: nn.Module) -> Optional[UnitRules]:
        """The unit rules this family declares for ``backbone``'s class (the
        most derived named class wins), or None."""
        for name in _class_names(backbone):
            if name in self.unit_rules:
                return self.unit_rules[name]
        return None

    def class_depth(self, backbone: nn.Module) -> Optional[int]:
        """How far up ``backbone``'s MRO the first class this family names
        is (0: the class itself), or None."""
        for depth, name in enumerate(_class_names(backbone)):
            if name in self.unit_rules:
                return depth
        return None

    def blocks(self, backbone: nn.Module) -> Dict[str, nn.Module]:
        """The prunable blocks of ``backbone`` (empty: not of this family by
        its blocks)."""
        return self.strategy.blocks(backbone) if self.strategy else {}

    # -- modulation --------------------------------------------------------
    def unit_rules_of(self, backbone: nn.Module) -> UnitRules:
        """Which units of ``backbone`` are modulated by default."""
        return self.rules_for(backbone) or DEFAULT_RULES

    def stage_of(self, layer_name: str) -> str:
        """The stage group of a module name (MA-Net's astrocyte groups)."""
        match = STAGE_PATTERN.match(layer_name)
        return match.group(1) if match else layer_name.split('.')[0]

    def stages(self, backbone: nn.Module,
               blocks: Sequence[str]) -> Dict[str, List[str]]:
        """The prunable blocks' names by stage, in order: ``{'layer1':
        ['layer1.0', ...], ...}`` (coupled pruning's stage groups)."""
        stages: Dict[str, List[str]] = OrderedDict()
        for name in blocks:
            stages.setdefault(self.stage_of(name), []).append(name)
        return stages

    # -- pruning and rebuilding --------------------------------------------
    def stage_widths(self, backbone: nn.Module) -> Optional[Dict[str, int]]:
        """Output width of every stage, in ``out_indices`` order (what a
        detector's neck reads), after a ``'stem'`` entry where the stem is
        a channel group of its own (no neck reads it:
        :func:`~astro_mm.pruning.coupled.neck_widths`); None for a
        family whose stage widths never change."""
        return None

    def shrink_stages(self, backbone: nn.Module,
                      widths: Dict[str, int]) -> None:
        """Give a fresh backbone the stage widths of a coupled prune.

        Raises:
            ValueError: The family has no coupled pruning.
        """
        raise ValueError(f'{type(backbone).__name__} ({self.name}) has no '
                         f'coupled pruning: its stage widths {widths} '
                         'cannot be rebuilt')

    def rebuild(self, backbone: nn.Module, widths: Dict[str, Sequence[int]],
                stage_widths: Optional[Dict[str, int]] = None) -> nn.Module:
        """Shrink a freshly built backbone to the widths of a pruned one
        (stage widths first: inner widths are relative to the stages).
        Returns ``backbone``."""
        if stage_widths:
            self.shrink_stages(backbone, stage_widths)
        return shrink_with_strategy(self.strategy, backbone, widths)

    def channel_groups(self, backbone: nn.Module, graph: tp.DependencyGraph,
                       coupled: bool = False) -> List[ChannelGroup]:
        """The Torch-Pruning channel groups of ``backbone``'s prunable
        units (``graph``: its dependency graph, or that of a model holding
        it): one per inner slot and, with ``coupled``, one per group of
        coupled stage channels. What the baselines, the coupled export and
        sparse training prune and count.

        Raises:
            ValueError: The family has no channel groups.
        """
        raise ValueError(f'{type(backbone).__name__} ({self.name}) has no '
                         'Torch-Pruning channel groups')

    def kept_stage_channels(self, backbone: nn.Module,
                            removed: Dict[str, Sequence[int]]
                            ) -> Dict[str, torch.Tensor]:
        """The channels of every stage output of the unpruned ``backbone``
        that a coupled prune kept (``removed``:
        :func:`~astro_mm.pruning.coupled.removed_channels`), in the pruned
        network's order.

        Raises:
            ValueError: The family has no coupled pruning.
        """
        raise ValueError(f'{type(backbone).__name__} ({self.name}) has no '
                         'coupled pruning: its stage channels never change')

    # -- figures -----------------------------------------------------------
    def gradcam_layer(self, backbone: nn.Module) -> str:
        """Name (in the backbone) of the last stage, Grad-CAM's layer.

        Raises:
            ValueError: The backbone has no ResNet-style ``res_layers`` nor a
                ``stages`` / ``layers`` list to take the last of.
        """
        if hasattr(backbone, 'res_layers'):
            return backbone.res_layers[-1]
        for attr in ('stages', 'layers'):
            stages = getattr(backbone, attr, None)
            if isinstance(stages, (nn.ModuleList, nn.Sequential)) and \
                    len(stages):
                return f'{attr}.{len(stages) - 1}'
        raise ValueError(
            f'cannot tell the last stage of {type(backbone).__name__}: pass '
            "target_layer='backbone.<module name>'")


@dataclass
class FamilyPlan:
    """One backbone's family, resolved once: what export, cost, baselines,
    rebuilding, coupled pruning, the algorithm and Grad-CAM read instead
    of matching names. (Neck sync reads the stage widths the export wrote
    from it into the checkpoint's meta.)

    Attributes:
        family (BackboneFamily): The family (the base class itself for a
            backbone of no registered family).
        backbone (nn.Module): The backbone it was resolved for.
        blocks (dict): Its prunable blocks by name (empty: not prunable).
        slots (dict): Prunable layer names by block, ``{'layer1.0':
            ['layer1.0.conv1'], ...}``: the names of the
            :class:`~astro_mm.models.modulated.ModulatedLayer` whose P
            decides each slot.
    """
    family: BackboneFamily
    backbone: nn.Module
    blocks: Dict[str, nn.Module] = field(default_factory=dict)
    slots: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def strategy(self):
        """The family's pruning strategy.

        Raises:
            ValueError: The backbone has no prunable block.
        """
        if not self.blocks:
            raise ValueError(
                f'{type(self.backbone).__name__} has no prunable block of a '
                f'known family ({", ".join(registered_family_names())})')
        return self.family.strategy

    @property
    def prunable(self) -> bool:
        return bool(self.blocks)

    @property
    def unit_rules(self) -> UnitRules:
        return self.family.unit_rules_of(self.backbone)

    @property
    def stages(self) -> Dict[str, List[str]]:
        """Block names by stage (:meth:`BackboneFamily.stages`)."""
        return self.family.stages(self.backbone, list(self.blocks))

    def prunable_layer_names(self) -> List[str]:
        """Every slot's layer name, block by block (``layer1.0.conv1``)."""
        return [name for names in self.slots.values() for name in names]

    def stage_widths(self) -> Optional[Dict[str, int]]:
        return self.family.stage_widths(self.backbone)

    def require_coupled(self, what: str) -> None:
        """Raise a ValueError naming ``what`` unless the family prunes
        stage channels."""
        if not self.family.supports_coupled:
            self.strategy  # a backbone of no family: say which are known
            raise ValueError(
                f'{what} supports ResNet backbones only (residual blocks '
                f'with conv1/norm1 ...); {type(self.backbone).__name__} is '
                f'a {self.family.name} backbone')

    # -- modulation --------------------------------------------------------
    @property
    def exclude(self) -> Tuple[str, ...]:
        """Regexes of module names never modulated by default."""
        return self.family.exclude

    def stage_of(self, layer_name: str) -> str:
        """The stage group of a module name (MA-Net's astrocyte groups)."""
        return self.family.stage_of(layer_name)

    # -- pruning -----------------------------------------------------------
    def bind(self, backbone: nn.Module) -> 'FamilyPlan':
        """The plan of ``backbone``, a copy of this plan's backbone or a
        pruned one of the same family: the same family, without asking the
        registry again; its blocks and slots are read off ``backbone``."""
        return _plan(self.family, backbone)

    def inner_widths(self) -> Dict[str, List[int]]:
        """Widths of every prunable slot, by block: ``{'layer1.0': [64],
        ...}`` for a ResNet-18, ``{'layers.0': [12, 3072], ...}`` (heads,
        FFN hidden) for a ViT-B."""
        return {name: self.strategy.widths(block)
                for name, block in self.blocks.items()}

    def prune_units(self, keep: Dict[str, Sequence[torch.Tensor]]
                    ) -> nn.Module:
        """Remove units in place: ``keep[block][i]`` indexes the units of
        slot i that stay. Returns the backbone."""
        return prune_with_strategy(self.strategy, self.backbone, keep)

    def shrink_to_widths(self, widths: Dict[str, Sequence[int]],
                         stage_widths: Optional[Dict[str, int]] = None
                         ) -> nn.Module:
        """Give the (freshly built) backbone the widths of a pruned one
        (:meth:`BackboneFamily.rebuild`). Returns the backbone."""
        self.strategy  # a backbone of no family: say which are known
        return self.family.rebuild(self.backbone, widths, stage_widths)

    def channel_groups(self, graph: tp.DependencyGraph,
                       coupled: bool = False,
                       what: str = 'channel-group pruning'
                       ) -> List[ChannelGroup]:
        """:meth:`BackboneFamily.channel_groups` of the backbone; ``what``
        names the caller in the error of a family without them."""
        self.require_coupled(what)
        return self.family.channel_groups(self.backbone, graph, coupled)

    def kept_stage_channels(self, removed: Dict[str, Sequence[int]]
                            ) -> Dict[str, torch.Tensor]:
        """:meth:`BackboneFamily.kept_stage_channels` of the backbone."""
        return self.family.kept_stage_channels(self.backbone, removed)


def _plan(family: BackboneFamily, backbone: nn.Module) -> FamilyPlan:
    blocks = family.blocks(backbone)
    slots = {name: [f'{name}.{slot}' for slot in family.strategy.slots(block)]
             for name, block in blocks.items()}
    return FamilyPlan(family, backbone, blocks, slots)


def registered_families() -> List[BackboneFamily]:
    """One instance of every registered family, by priority."""
    FAMILIES.import_from_location()
    families = [cls() for cls in FAMILIES.module_dict.values()]
    return sorted(families, key=lambda family: family.priority)


def registered_family_names() -> List[str]:
    return [family.name for family in registered_families()]


def find_family(backbone: nn.Module) -> Optional[BackboneFamily]:
    """The family of ``backbone``, or None.

    A family naming the backbone's class wins (the most derived class
    first); else the first family, by priority, that finds prunable blocks
    in it.
    """
    families = registered_families()
    named = [(family.class_depth(backbone), i, family)
             for i, family in enumerate(families)]
    named = [item for item in named if item[0] is not None]
    if named:
        return min(named, key=lambda item: item[:2])[2]
    for family in families:
        if family.blocks(backbone):
            return family
    return None


def resolve_family(backbone: nn.Module, strict: bool = False) -> FamilyPlan:
    """Resolve ``backbone``'s family into a :class:`FamilyPlan`.

    Args:
        backbone (nn.Module): The (unpruned or pruned) backbone.
        strict (bool): Raise when no registered family is prunable for it;
            else a backbone of no family gets the base family's defaults.

    Raises:
        ValueError: With ``strict``, no registered family knows a prunable
            block of ``backbone`` (the message lists the families).
    """
    plan = _plan(find_family(backbone) or BackboneFamily(), backbone)
    if strict and not plan.blocks:
        raise ValueError(
            f'{type(backbone).__name__} has no prunable block of a known '
            f'family ({", ".join(registered_family_names())})')
    return plan
