"""Plain ResNet-101 (CIFAR variant) on CIFAR-10 (data/cifar10): baseline of ResNet-101 on CIFAR-10 (no row in the papers)."""
_base_ = [
    'mmpretrain::_base_/models/resnet101_cifar.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/cifar10_200e.py',
    '../_base_/default_runtime.py',
]
