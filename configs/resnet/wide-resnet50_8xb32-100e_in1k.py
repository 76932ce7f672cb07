"""Plain WRN-50 on ImageNet-1k (data/imagenet): baseline of WRN-50 on ImageNet-1k (no row in the papers)."""
_base_ = [
    'mmpretrain::_base_/models/wide-resnet50.py',
    '../_base_/datasets/imagenet.py',
    '../_base_/schedules/imagenet_100e.py',
    '../_base_/default_runtime.py',
]
