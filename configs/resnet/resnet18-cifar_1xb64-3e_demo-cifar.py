"""Plain ResNet-18, CIFAR variant (3x3 stem, no max-pool), on the demo set.

The plain baseline of MA-Net Tab. 1 (RNT18, CIFAR-10), on the generated
CIFAR-format demo data so it runs in minutes on a CPU.
"""
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    '../_base_/datasets/demo_cifar.py',
    '../_base_/schedules/cls_demo.py',
    '../_base_/default_runtime.py',
]
