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

Callers do not match module names themselves: they resolve the family once
per backbone (:func:`resolve_family`) and read the :class:`FamilyPlan`.
Adding a family means adding one module with one registered subclass.
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from torch import nn

from astro_mm.registry import FAMILIES
# the generic defaults, which every family may override
from ..modulation.modulated_layers import DEFAULT_EXCLUDE, STAGE_PATTERN
from ..modulation.unit_rules import DEFAULT_RULES, UnitRules


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
            pruned too (:mod:`astro_mm.models.pruning.coupled`).
    """
    name = 'no registered family'
    priority = 50
    unit_rules: Dict[str, UnitRules] = {}
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    strategy = None
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
        :func:`~astro_mm.models.pruning.coupled.neck_widths`); None for a
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
        from ..pruning.strategies import shrink_with_strategy
        if stage_widths:
            self.shrink_stages(backbone, stage_widths)
        return shrink_with_strategy(self.strategy, backbone, widths)

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
            :class:`~astro_mm.models.modulation.ModulatedLayer` whose P
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


def registered_families() -> List[BackboneFamily]:
    """One instance of every registered family, by priority."""
    from . import import_families
    import_families()
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
    family = find_family(backbone) or BackboneFamily()
    blocks = family.blocks(backbone)
    if strict and not blocks:
        raise ValueError(
            f'{type(backbone).__name__} has no prunable block of a known '
            f'family ({", ".join(registered_family_names())})')
    slots = {name: [f'{name}.{slot}' for slot in family.strategy.slots(block)]
             for name, block in blocks.items()}
    return FamilyPlan(family, backbone, blocks, slots)
