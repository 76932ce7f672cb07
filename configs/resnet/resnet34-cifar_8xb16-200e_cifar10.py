"""Plain ResNet-34 (CIFAR variant) on CIFAR-10 (data/cifar10): baseline of AstroNet supp. Tab. 2, ResNet34 (paper: 93.56 %, 21.28 M; AstroNet 94.51 %, 9.7 M)."""
_base_ = [
    'mmpretrain::_base_/models/resnet34_cifar.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/cifar10_200e.py',
    '../_base_/default_runtime.py',
]
