"""Backbones the papers and the pruning benchmarks use that the OpenMMLab
libraries lack."""
from .cifar_resnet import CIFARResNet
from .densenet_cifar import DenseNet_CIFAR
from .pruned_backbone import build_pruned_backbone

__all__ = ['CIFARResNet', 'DenseNet_CIFAR', 'build_pruned_backbone']
