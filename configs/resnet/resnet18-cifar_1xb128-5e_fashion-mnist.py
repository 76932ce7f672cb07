"""Plain ResNet-18, CIFAR variant, on Fashion-MNIST (real data, 1 channel).

The plain baseline of the Fashion-MNIST study (plain vs AstroNet vs MA-Net).
Run ``python tools/prepare_fashion_mnist.py`` once first.
"""
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/cls_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=dict(in_channels=1))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=5, eta_min=1e-3),
]
train_cfg = dict(max_epochs=5)
auto_scale_lr = dict(base_batch_size=128)
