"""The prune-early control of the standard pruners (issue 25, "Equal time
in the pruned shape"): the plain ResNet-20 row of the fair study
(resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py, the same data
order, lr schedule and everything up to the prune), pruned by a standard
pruner at iteration 100 of 2,150, about where the budget-aware astro rows
reach their budget, and trained the rest of the schedule in the pruned
shape (astro_mm.EarlyPruningHook holds the removed channels exactly dead).
``tools/prune.py CONFIG CKPT --method early --out OUT.pth`` then removes
those channels and writes the fine-tune config every row gets.

The suite sets the pruner with ``--cfg-options custom_hooks.0.method=taylor
custom_hooks.0.budget=0.4 custom_hooks.0.measure=params
custom_hooks.0.rank=cost custom_hooks.0.seed=1`` (rank ``None`` for the
method's own rule).
"""
_base_ = [
    '../resnet/resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py'
]

custom_hooks = [
    dict(type='astro_mm.EarlyPruningHook', iteration=100, method='l1',
         budget=0.6, measure='flops', rank='group', input_size=28)
]
