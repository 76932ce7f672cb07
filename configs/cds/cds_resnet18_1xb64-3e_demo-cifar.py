"""CDS ResNet-18 (ImageNet stem) on the demo set: RNT-CDS of MA-Net Tab. 3-4
at demo scale, the CDS-pretrained backbone that the *_r18-cds_* demo
detector configs swap in (its projection heads are dropped there).

The plain config with contrastive deep supervision: a projection head and a
SupCon loss (tau 0.07, weight 0.1) per stage on two augmented views of each
image (each view: the plain config's crop, flip and 32 -> 64 px resize)."""
_base_ = '../resnet/resnet18_1xb64-3e_demo-cifar.py'

model = dict(type='astro_mm.CDSImageClassifier')
train_pipeline = [
    dict(type='MultiView', num_views=2,
         transforms=[_base_.train_pipeline[:-1]]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
