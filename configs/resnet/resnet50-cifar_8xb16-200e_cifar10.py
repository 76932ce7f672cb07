"""Plain ResNet-50 (CIFAR variant) on real CIFAR-10: MA-Net Tab. 1, RNT50
baseline (paper: 95.07 %, 25.60 M). Data at data/cifar10."""
_base_ = [
    'mmpretrain::_base_/models/resnet50_cifar.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/cifar10_200e.py',
    '../_base_/default_runtime.py',
]
