"""Models: the modulation mechanism, the modulators, Algorithm 1 and
physical pruning; the CDS baseline."""
from .algorithms import AlternatingAlgorithm
from .backbones import CIFARResNet, DenseNet_CIFAR
from .classifiers import CDSImageClassifier
from .data_preprocessors import MultiViewClsDataPreprocessor
from .heads import CDSProjectionHead
from .losses import SupConLoss
from .modulators import (AstroNetModulator, FreeLogitsModulator,
                         MANetModulator)
from .pruning import build_pruned_resnet, export_pruned
from .families import import_families

import_families()  # registers the backbone families

__all__ = [
    'AlternatingAlgorithm', 'AstroNetModulator', 'MANetModulator',
    'FreeLogitsModulator',
    'DenseNet_CIFAR', 'CIFARResNet',
    'export_pruned', 'build_pruned_resnet', 'CDSImageClassifier',
    'CDSProjectionHead', 'MultiViewClsDataPreprocessor', 'SupConLoss'
]
