"""Network slimming (Liu et al. 2017), its training: the plain ResNet-20 of
the fair study (resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py,
hold-out split, 5 epochs, bfloat16 autocast) with an L1 penalty of 1e-5 on
the scales of the batch norms the baselines prune (the inner channels of
the residual blocks), Torch-Pruning's BNScalePruner.regularize applied
before every optimizer step (astro_mm.SparseTrainingHook).

The trained network is then pruned with the matching importance and
fine-tuned: tools/prune.py THIS_CONFIG CKPT --method bn_scale --budget
0.6 [--measure flops]. The paper's lambda is 1e-4 on CIFAR, 1e-5 on
ImageNet; the study chooses between the two on the validation split. Another
value, without a new file: --cfg-options custom_hooks.0.reg=3e-5.
"""
_base_ = [
    '../resnet/resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py',
]

custom_hooks = [
    dict(type='astro_mm.SparseTrainingHook', regularizer='bn_scale',
         reg=1e-5, input_size=28),
]
