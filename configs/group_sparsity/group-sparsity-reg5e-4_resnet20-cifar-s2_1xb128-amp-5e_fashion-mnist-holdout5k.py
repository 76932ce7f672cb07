"""DepGraph's group sparsity (Fang et al. 2023), its training: the plain
ResNet-20 of the fair study (resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-
holdout5k.py, hold-out split, 5 epochs, bfloat16 autocast) with Torch-
Pruning's GroupNormPruner.regularize, coefficient 5e-4, on the channel
groups the baselines prune (each inner conv's filters, its norm and the next
conv's inputs), applied before every optimizer step
(astro_mm.SparseTrainingHook).

The trained network is then pruned with the matching importance and
fine-tuned: tools/prune.py THIS_CONFIG CKPT --method group_norm --budget
0.6 [--measure flops]. Torch-Pruning's default coefficient is 1e-4, its
CIFAR benchmarks use 5e-4; the study chooses between the two on the
validation split. Another value, without a new file: --cfg-options
custom_hooks.0.reg=2e-4.
"""
_base_ = [
    '../resnet/resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py',
]

custom_hooks = [
    dict(type='astro_mm.SparseTrainingHook', regularizer='group_norm',
         reg=5e-4, input_size=28),
]
