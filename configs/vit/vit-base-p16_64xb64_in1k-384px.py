"""Plain ViT-B/16 on ImageNet-1k at 384 px: MA-Net Tab. 5 and AstroNet
supp. Tab. 4, ViT baseline row (paper: 77.90 %, 86.20 M: the ViT paper's
ImageNet-only ViT-B/16). Data at data/imagenet.

mmpretrain's ``vision_transformer/vit-base-p16_64xb64_in1k-384px.py``
recipe, composed from its ``_base_`` files: the full config brings
mmpretrain's runtime, which would clash with this project's
(``custom_imports`` of astro_mm)."""
_base_ = [
    'mmpretrain::_base_/models/vit-base-p16.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_bs4096_AdamW.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=dict(img_size=384))
data_preprocessor = dict(
    mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=384, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=384, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=384),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
