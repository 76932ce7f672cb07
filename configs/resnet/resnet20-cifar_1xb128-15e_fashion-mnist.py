"""Plain ResNet-20 (the CIFAR ResNet of He et al. 2016, 0.27 M parameters)
on Fashion-MNIST (real data, 1 channel, 28x28).

The standard network of the structured-pruning literature, small enough to
train to convergence on a 2-core CPU: the plain row of
benchmarks/budget_pruning.py and of the converged real-data study.
Run ``python tools/prepare_fashion_mnist.py`` once first.
"""
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/cls_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='astro_mm.CIFARResNet', depth=20, in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=15, eta_min=0.),
]
train_cfg = dict(max_epochs=15, val_interval=15)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=128)
