"""astro_mm: astrocyte-modulated networks for OpenMMLab.

Importing the package (what a config's
``custom_imports = dict(imports=['astro_mm'])`` does) makes astro_mm's
registries known to mmengine and changes nothing else's behaviour:

* Components register on first use: every astro_mm registry names its
  ``locations`` (see :mod:`astro_mm.registry`), which mmengine imports when
  a config first asks for an ``astro_mm.`` type. So ``import astro_mm``
  imports neither mmpretrain nor mmdet; they are imported where an astro_mm
  component that subclasses theirs is built.
* astro_mm's compatibility layer (safe checkpoint loading, atomic checkpoint
  writes, distributed training on CPU; see :mod:`astro_mm.compat`) is
  opt-in: astro_mm's tools call :func:`astro_mm.compat.apply_patches`, and
  astro_mm's configs list ``'astro_mm.compat.enable'`` in their
  ``custom_imports``. A config of yours that only imports ``astro_mm`` runs
  with mmengine's own loader and writers.
* Strict pretrained loading is a config choice, not a patch:
  ``init_cfg=dict(type='Pretrained', _scope_='astro_mm', ...)`` is
  :class:`astro_mm.compat.StrictPretrainedInit`; ``type='Pretrained'``
  alone stays mmengine's.
"""
import sys

from .registry import check_keys_on_build

__version__ = '0.1.0'


def check_keys_in_library_registries() -> None:
    """Make mmdet's and mmpretrain's ``MODELS`` check astro_mm types'
    config keys (see :mod:`astro_mm.registry`), without importing them.

    Their ``MODELS`` build the backbones of detectors and classifiers
    (``astro_mm.PrunedBackbone``, ``astro_mm.DenseNet_CIFAR``) and copy
    mmengine's build function when they are created: one imported after
    astro_mm.registry wrapped it copies the checking one; one imported
    before is wrapped here (idempotent).
    """
    for name in ('mmdet.registry', 'mmpretrain.registry'):
        library = sys.modules.get(name)
        if library is not None:
            check_keys_on_build(library.MODELS)


check_keys_in_library_registries()
