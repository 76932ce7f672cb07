"""Backbones the papers use that the OpenMMLab libraries lack."""
from .densenet_cifar import DenseNet_CIFAR

__all__ = ['DenseNet_CIFAR']
