"""CDS ResNet-50 on ImageNet-1k: MA-Net Tab. 2, CDS row of RNT50 (paper:
78.25 %, 26.11 M), and RNT50-CDS, the backbone of the CDS detector rows
(Tab. 3, 4: configs/*/*_r50-cds_*_coco.py). Data at data/imagenet.

The plain config with contrastive deep supervision: a projection head and a
SupCon loss (tau 0.07, weight 0.1) per stage on two augmented views of each
image (each view: the plain config's augmentation; the image is read once)."""
_base_ = '../resnet/resnet50_8xb32-100e_in1k.py'

model = dict(type='astro_mm.CDSImageClassifier')
train_pipeline = [
    _base_.train_pipeline[0],  # LoadImageFromFile
    dict(type='MultiView', num_views=2,
         transforms=[_base_.train_pipeline[1:-1]]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
