"""astro_mm datasets and the synthetic demo data they read.

The datasets ``GeneratedCIFAR10``, ``HoldOutSubset`` and
``CheckedCocoDataset`` register in :data:`astro_mm.registry.DATASETS`
(configs name them ``astro_mm.GeneratedCIFAR10`` and so on), whose
``locations`` name their modules: mmengine imports them when a config
first names one. Importing this package imports only the demo data
generators (:mod:`.demo_data`: numpy and Pillow); the datasets, which build
on mmdet and mmpretrain, and the COCO checks are imported on first use of
their names here (``from astro_mm.datasets import HoldOutSubset``).
"""
import importlib

from .demo_data import generate_demo_cifar, generate_demo_coco

# name -> the module that defines it, imported when the name is first used
_LAZY_NAMES = {
    'CheckedCocoDataset': 'checked_coco',
    'load_coco_annotations': 'checked_coco',
    'validate_coco_annotations': 'checked_coco',
    'UnsafeCocoAnnotationsError': 'coco_repair',
    'repair_coco_annotations': 'coco_repair',
    'GeneratedCIFAR10': 'generated_cifar',
    'HoldOutSubset': 'holdout',
}

__all__ = [
    'CheckedCocoDataset', 'GeneratedCIFAR10', 'HoldOutSubset', 'generate_demo_cifar',
    'generate_demo_coco', 'validate_coco_annotations', 'load_coco_annotations',
    'repair_coco_annotations', 'UnsafeCocoAnnotationsError'
]


def __getattr__(name: str):
    """The datasets and COCO checks, imported on first use (PEP 562)."""
    if name not in _LAZY_NAMES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    module = importlib.import_module(f'.{_LAZY_NAMES[name]}', __name__)
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES))
