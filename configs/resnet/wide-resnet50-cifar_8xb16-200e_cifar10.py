"""Plain WRN-50 (CIFAR variant) on CIFAR-10 (data/cifar10): baseline of MA-Net Tab. 1, WRN50."""
_base_ = [
    'mmpretrain::_base_/models/resnet50_cifar.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/cifar10_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=dict(base_channels=128, expansion=2), head=dict(in_channels=2048))
