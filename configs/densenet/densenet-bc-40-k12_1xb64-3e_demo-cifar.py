"""Plain DenseNet-BC (L=40, k=12; 0.17 M) on the demo set: the cheap
DenseNet-BC of the demo-scale MA-Net / AstroNet runs."""
_base_ = [
    '../_base_/datasets/demo_cifar.py',
    '../_base_/schedules/cls_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='astro_mm.DenseNet_CIFAR', arch='bc-40-k12'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=132,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
