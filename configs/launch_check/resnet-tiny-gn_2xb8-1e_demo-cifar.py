"""A tiny ResNet for the launch check (benchmarks/launch_check.py): 2 devices
of batch 8 on the demo CIFAR set.

Everything that would make a 2-process run differ from a 1-process run at
the same total batch is off: group norms (no per-process batch
statistics), no augmentation, no shuffle (mmengine's DefaultSampler gives
rank r the samples r, r + 2, ...: the two processes' first batches are
together the one process's first batch of 16). AllRanksLossHook logs the
loss averaged over the processes (``loss_all_ranks``).
"""
_base_ = [
    '../_base_/datasets/demo_cifar.py',
    '../_base_/schedules/cls_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                  base_channels=8, norm_cfg=dict(type='GN', num_groups=4)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, )))
train_dataloader = dict(
    batch_size=8,
    dataset=dict(pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False))
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
param_scheduler = []
custom_hooks = [dict(type='astro_mm.AllRanksLossHook')]
default_hooks = dict(logger=dict(interval=1))
