"""astro_mm: astrocyte-modulated networks for OpenMMLab.

Importing the package (what a config's
``custom_imports = dict(imports=['astro_mm'])`` does) makes astro_mm's
registries known to mmengine and changes nothing else's behaviour:

* Components register on first use: every astro_mm registry names its
  ``locations`` (see :mod:`astro_mm.registry`), which mmengine imports when
  a config first asks for an ``astro_mm.`` type. So ``import astro_mm``
  imports neither mmpretrain nor mmdet; they are imported where an astro_mm
  component that subclasses theirs is built. Without mmengine already
  imported, ``import astro_mm`` imports neither mmengine nor torch either.
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

__version__ = '0.1.0'


def check_keys_in_library_registries() -> None:
    """Make mmdet's and mmpretrain's ``MODELS`` check astro_mm types'
    config keys (see :mod:`astro_mm.registry`), without importing them.

    Their ``MODELS`` build the backbones of detectors and classifiers
    (``astro_mm.PrunedBackbone``, ``astro_mm.DenseNet_CIFAR``) and copy
    mmengine's build function when they are created: one imported after
    astro_mm.registry wrapped it copies the checking one; one imported
    before is wrapped here, or when astro_mm.registry is first imported
    (idempotent).
    """
    # not at the top: astro_mm.registry imports mmengine (and torch), which
    # ``import astro_mm`` alone must not (the demo data generators)
    from .registry import check_keys_in_loaded_libraries
    check_keys_in_loaded_libraries()


# With mmengine loaded (a config's custom_imports, a tool), the checks are
# put in place at once. Without it they wait for the first import of
# astro_mm.registry, which every astro_mm component (and astro_mm.compat)
# makes, so that ``import astro_mm`` alone (the demo data generator,
# astro_mm.datasets.demo_data) imports neither mmengine nor torch.
if 'mmengine' in sys.modules:
    check_keys_in_library_registries()
