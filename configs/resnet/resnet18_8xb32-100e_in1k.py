"""Plain ResNet-18 on ImageNet-1k: MA-Net Tab. 2, RNT18 baseline.
Data at data/imagenet."""
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/imagenet.py',
    '../_base_/schedules/imagenet_100e.py',
    '../_base_/default_runtime.py',
]
