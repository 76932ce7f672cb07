"""Plain ResNet-50 on ImageNet-1k: MA-Net Tab. 2 baseline (paper: 75.30 %,
26.11 M) and the backbone the COCO detector configs take. Data at
data/imagenet."""
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    '../_base_/datasets/imagenet.py',
    '../_base_/schedules/imagenet_100e.py',
    '../_base_/default_runtime.py',
]
