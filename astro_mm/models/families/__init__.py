"""Backbone families, one module each, registered in
``astro_mm.registry.FAMILIES`` (see :mod:`.base`).

Adding a family: one module with a :class:`BackboneFamily` subclass
decorated with ``@FAMILIES.register_module()`` (astro_mm's own are imported
by :func:`import_families`; a family defined elsewhere registers when its
module is imported).
"""
from .base import (BackboneFamily, FamilyPlan, find_family,
                   registered_families, resolve_family)

__all__ = [
    'BackboneFamily', 'FamilyPlan', 'find_family', 'registered_families',
    'resolve_family', 'import_families'
]


def import_families() -> None:
    """Import (hence register) astro_mm's own families. Lazy: the pruning
    modules they point to import the modulation package, which asks for
    families only when called."""
    from . import densenet, resnet, transformer  # noqa: F401

