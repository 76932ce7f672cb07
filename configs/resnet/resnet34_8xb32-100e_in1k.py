"""Plain ResNet-34 on ImageNet-1k (data/imagenet): baseline of ResNet-34 on ImageNet-1k (no row in the papers)."""
_base_ = [
    'mmpretrain::_base_/models/resnet34.py',
    '../_base_/datasets/imagenet.py',
    '../_base_/schedules/imagenet_100e.py',
    '../_base_/default_runtime.py',
]
