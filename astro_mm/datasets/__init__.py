"""astro_mm datasets and the synthetic demo data they read.

Importing this package registers ``GeneratedCIFAR10``, ``HoldOutSubset``
and ``CheckedCocoDataset`` in :data:`astro_mm.registry.DATASETS` (configs
name them ``astro_mm.GeneratedCIFAR10`` and so on).
"""
from .checked_coco import (CheckedCocoDataset, load_coco_annotations,
                           validate_coco_annotations)
from .coco_repair import UnsafeCocoAnnotationsError, repair_coco_annotations
from .demo_data import generate_demo_cifar, generate_demo_coco
from .generated_cifar import GeneratedCIFAR10
from .holdout import HoldOutSubset

__all__ = [
    'CheckedCocoDataset', 'GeneratedCIFAR10', 'HoldOutSubset', 'generate_demo_cifar',
    'generate_demo_coco', 'validate_coco_annotations', 'load_coco_annotations',
    'repair_coco_annotations', 'UnsafeCocoAnnotationsError'
]
