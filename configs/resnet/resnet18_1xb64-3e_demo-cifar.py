"""Plain ResNet-18 (ImageNet stem) pretrained on the demo set.

The backbone the demo detectors take: its stem (7x7 conv + max-pool) and
stages have exactly mmdet's ResNet layout, so every weight of this
checkpoint is swapped into Faster R-CNN / DETR / CondInst / BoxInst through
``init_cfg=dict(type='Pretrained', _scope_='astro_mm',
prefix='backbone.')`` (astro_mm's strict load). Images are upsampled
32 -> 64 px so the last stage still sees a 2x2 map.

Optimizer: AdamW (lr 2e-3, weight decay 0.05), cosine to 0 per iteration.
The demo has 141 iterations. With the shared SGD 0.1 schedule the network
was still far below 80 % after them; AdamW on the version-3 demo data
reaches over 80 % (`make demo`, benchmarks/RESULTS.md). Every demo
classifier (CDS, AstroNet, MA-Net) trains its weights with this same
optimizer, so the rows stay comparable.
"""
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/demo_cifar.py',
    '../_base_/schedules/cls_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10, topk=(1, )))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    # per iteration: stepped per epoch, a 3-epoch cosine spends an epoch at
    # each of three rates
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=3, eta_min=0.,
         convert_to_iter_based=True),
]
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
