"""Plain ResNet-18 (ImageNet stem) pretrained on the demo set.

The backbone the demo detectors take: its stem (7x7 conv + max-pool) and
stages have exactly mmdet's ResNet layout, so every weight of this
checkpoint is swapped into Faster R-CNN / DETR / CondInst / BoxInst through
``init_cfg=dict(type='Pretrained', prefix='backbone.')``. Images are
upsampled 32 -> 64 px so the last stage still sees a 2x2 map.
"""
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/demo_cifar.py',
    '../_base_/schedules/cls_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10, topk=(1, )))
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Resize', scale=(64, 64)),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='Resize', scale=(64, 64)), dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
