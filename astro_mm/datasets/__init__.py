"""astro_mm datasets and the synthetic demo data they read.

Importing this package registers ``GeneratedCIFAR10`` and
``CheckedCocoDataset`` in :data:`astro_mm.registry.DATASETS` (configs name
them ``astro_mm.GeneratedCIFAR10`` / ``astro_mm.CheckedCocoDataset``).
"""
from .checked_coco import (CheckedCocoDataset, load_coco_annotations,
                           validate_coco_annotations)
from .coco_repair import UnsafeCocoAnnotationsError, repair_coco_annotations
from .demo_data import generate_demo_cifar, generate_demo_coco
from .generated_cifar import GeneratedCIFAR10

__all__ = [
    'CheckedCocoDataset', 'GeneratedCIFAR10', 'generate_demo_cifar',
    'generate_demo_coco', 'validate_coco_annotations', 'load_coco_annotations',
    'repair_coco_annotations', 'UnsafeCocoAnnotationsError'
]
