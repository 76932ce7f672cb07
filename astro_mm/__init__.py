"""astro_mm: astrocyte-modulated networks for OpenMMLab.

Importing the package applies the compatibility patches (see
:mod:`astro_mm.compat`), registers every component in astro_mm's
registries and makes mmdet's and mmpretrain's model registries check the
config keys of astro_mm types (see :mod:`astro_mm.registry`).
"""
from .compat import apply_patches

__version__ = '0.1.0'

apply_patches()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers)


def _check_keys_in_library_registries() -> None:
    # Their MODELS build the backbones of detectors and classifiers
    # (astro_mm.PrunedResNet, astro_mm.DenseNet_CIFAR); they were created,
    # copying mmengine's build function, before astro_mm.registry wrapped it.
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

    from .registry import check_keys_on_build
    check_keys_on_build(MMDET_MODELS)
    check_keys_on_build(MMPRETRAIN_MODELS)


_check_keys_in_library_registries()
