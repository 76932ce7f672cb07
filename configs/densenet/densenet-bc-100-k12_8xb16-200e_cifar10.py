"""Plain DenseNet-BC (L=100, k=12; CIFAR stem) on real CIFAR-10: the
standard small DenseNet-BC (DenseNet paper: 95.49 %, 0.8 M). Not a row of
the MA-Net tables; the schedule is the project's shared CIFAR-10 one (as
MA-Net Tab. 1), not the DenseNet paper's 300 epochs. Data at data/cifar10.

The other DenseNet-BC configs inherit this one and change ``arch`` and the
head's input width (the last dense block's output)."""
_base_ = [
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/cifar10_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='astro_mm.DenseNet_CIFAR', arch='bc-100-k12'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=342,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
