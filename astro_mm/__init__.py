"""astro_mm: astrocyte-modulated networks for OpenMMLab.

Importing the package applies the compatibility patches (see
:mod:`astro_mm.compat`) and registers every component in astro_mm's
registries (see :mod:`astro_mm.registry`).
"""
from .compat import apply_patches

__version__ = '0.1.0'

apply_patches()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers)
