"""Plain ResNet-18 (CIFAR variant) on real CIFAR-10: MA-Net Tab. 1, RNT18
baseline (paper: 94.96 %, 11.17 M). Data at data/cifar10."""
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/cifar10_200e.py',
    '../_base_/default_runtime.py',
]
