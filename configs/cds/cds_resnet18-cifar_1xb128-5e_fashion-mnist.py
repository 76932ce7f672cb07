"""CDS ResNet-18 (CIFAR variant) on Fashion-MNIST (real data): the CDS arm of
the Fashion-MNIST study (plain vs CDS vs AstroNet vs MA-Net), same schedule
as the plain config. Run ``python tools/prepare_fashion_mnist.py`` once
first.

The plain config with contrastive deep supervision: a projection head and a
SupCon loss (tau 0.07, weight 0.1) per stage on two augmented views of each
image (each view: the plain config's augmentation)."""
_base_ = '../resnet/resnet18-cifar_1xb128-5e_fashion-mnist.py'

model = dict(type='astro_mm.CDSImageClassifier')
train_pipeline = [
    dict(type='MultiView', num_views=2,
         transforms=[_base_.train_pipeline[:-1]]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
