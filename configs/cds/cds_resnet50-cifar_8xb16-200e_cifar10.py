"""CDS ResNet-50 (CIFAR variant) on CIFAR-10: MA-Net Tab. 1, CDS row of RNT50
(paper: 96.78 %, 25.60 M). Data at data/cifar10.

The plain config with contrastive deep supervision: a projection head and a
SupCon loss (tau 0.07, weight 0.1) per stage on two augmented views of each
image (each view: the plain config's augmentation)."""
_base_ = '../resnet/resnet50-cifar_8xb16-200e_cifar10.py'

model = dict(type='astro_mm.CDSImageClassifier')
train_pipeline = [
    dict(type='MultiView', num_views=2,
         transforms=[_base_.train_pipeline[:-1]]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
