"""Importing this module applies astro_mm's compatibility layer.

The opt-in of a config, through mmengine's ``custom_imports`` (astro_mm's
``_base_`` runtimes list it)::

    custom_imports = dict(imports=['astro_mm', 'astro_mm.compat.enable'],
                          allow_failed_imports=False)

Code calls :func:`astro_mm.compat.apply_patches` instead. What the patches
do, and why each is needed, is in :mod:`astro_mm.compat`.
"""
from . import apply_patches

apply_patches()
