"""CDS ResNet-20 (stride-2 stem) on Fashion-MNIST: the CDS row of the
converged study, same data, schedule and optimizer as the plain config.

The plain config with contrastive deep supervision: a projection head and a
SupCon loss (tau 0.07, weight 0.1) per stage on two augmented views of each
image. The plain config trains without augmentation; a contrastive loss
needs two different views, so CDS keeps the random crop and flip of the
longer Fashion-MNIST schedules for each view, as the CDS paper augments
both."""
_base_ = '../resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py'

model = dict(type='astro_mm.CDSImageClassifier')
train_pipeline = [
    dict(type='MultiView', num_views=2,
         transforms=[_base_.augmentation]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
