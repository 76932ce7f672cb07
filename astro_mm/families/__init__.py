"""Backbone families: the upper layer of astro_mm's models.

A family is everything astro_mm knows about one kind of backbone, in one
folder beside this file (``resnet/``, ``densenet/``, ``transformer/``): its
modulated units and stage groups, its prunable units (a pruning strategy),
its coupled channel groups and how a pruned one is rebuilt. Each folder
registers one :class:`BackboneFamily` subclass in
``astro_mm.registry.FAMILIES``, whose ``locations`` name this package:
importing it imports every family folder here, so adding a family means
adding one folder and nothing else (a family defined in another package
registers when its module is imported).

The family is resolved once per backbone (:func:`resolve_family`) and its
:class:`FamilyPlan` handed down to modulation and pruning, which never
look a family up. The functions below resolve and act in one call, for
callers that hold a backbone and nothing else (tools, tests, notebooks).
"""
import importlib
import pkgutil
from typing import Dict, List, Sequence

import torch
from torch import nn

from astro_mm.pruning.strategies import PruningStrategy
from .base import (DEFAULT_EXCLUDE, BackboneFamily, FamilyPlan, find_family,
                   registered_families, resolve_family)

# every family folder of this package (registers its family)
for _folder in pkgutil.iter_modules(__path__):
    if _folder.ispkg:
        importlib.import_module(f'{__name__}.{_folder.name}')


def strategy_for(backbone: nn.Module) -> PruningStrategy:
    """The pruning strategy of ``backbone``'s family.

    Raises:
        ValueError: No registered family knows a prunable block of
            ``backbone`` (the message lists the registered families).
    """
    return resolve_family(backbone, strict=True).strategy


def inner_widths(backbone: nn.Module) -> Dict[str, List[int]]:
    """:meth:`FamilyPlan.inner_widths` of ``backbone``."""
    return resolve_family(backbone, strict=True).inner_widths()


def prune_units(backbone: nn.Module,
                keep: Dict[str, Sequence[torch.Tensor]]) -> nn.Module:
    """:meth:`FamilyPlan.prune_units` of ``backbone``."""
    return resolve_family(backbone, strict=True).prune_units(keep)


def shrink_to_widths(backbone: nn.Module,
                     widths: Dict[str, Sequence[int]]) -> nn.Module:
    """:meth:`FamilyPlan.shrink_to_widths` of ``backbone``."""
    return resolve_family(backbone, strict=True).shrink_to_widths(widths)


def stage_widths(backbone: nn.Module) -> Dict[str, int]:
    """Output width of every stage (ResNets: preceded by ``'stem'`` where
    the stem is a group of its own), or None for a family whose stage
    widths never change."""
    return resolve_family(backbone).stage_widths()


__all__ = [
    'DEFAULT_EXCLUDE', 'BackboneFamily', 'FamilyPlan', 'find_family', 'registered_families',
    'resolve_family', 'strategy_for', 'inner_widths', 'prune_units',
    'shrink_to_widths', 'stage_widths'
]
