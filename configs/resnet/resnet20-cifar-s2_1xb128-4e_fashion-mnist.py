"""Plain ResNet-20 with a stride-2 stem on Fashion-MNIST: the network of the
converged real-data study (configs/suites/converged-study_fashion-mnist.py).

The CIFAR ResNet-20 of He et al. 2016 (the same blocks, widths and 0.27 M
parameters) with its stem conv at stride 2, so the three stages run at
14 / 7 / 4 px instead of 28 / 14 / 7: 4x fewer FLOPs, which is what lets
all 24 trainings of the study (8 methods x 3 seeds) converge within 2.5
hours on a 2-core CPU (benchmarks/worker_throughput.py times both stems;
benchmarks/fm_convergence.py checks the schedule against one twice as
long).

All 60,000 training images, 4 epochs, SGD lr 0.1 (momentum 0.9, weight
decay 5e-4, batch 128), a 100-iteration warm-up and a cosine decay to 0
applied per iteration (``convert_to_iter_based``: stepped per epoch, a
4-epoch cosine would end at lr 0.015 instead of 0). No augmentation: over 4
epochs the random crop and flip cost more than they give
(benchmarks/fm_convergence.py measures both). Run
``python tools/prepare_fashion_mnist.py`` once first.
"""
_base_ = './resnet20-cifar_1xb128-15e_fashion-mnist.py'

model = dict(backbone=dict(stem_stride=2))
# the augmentation of the longer schedules, kept for CDS's two views
augmentation = _base_.train_pipeline[:-1]
train_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=4, eta_min=0.,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=4, val_interval=4)
