"""The ``gates`` control of the fair study (configs/suites/fair-study_
fashion-mnist-holdout5k.py) on ResNet-20 (stride-2 stem), Fashion-MNIST with
a validation split: keep 40 % of the backbone's FLOPs (MACs of one
28 x 28 image).
The budget-aware mode with one free learned logit per prunable unit
(astro_mm.FreeLogitsModulator, starting at P = 0.95 as the MNets) and no
modulation network: everything else is the AstroNet row's
(../astronet/astronet-flops40_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py),
the same hard gates, straight-through gradient, augmented Lagrangian,
min_keep, alternation, TNet optimizer, Phi optimizer (AdamW with clipping;
its lr, ``optim_wrapper.mnet.optimizer.lr``, is chosen on the validation
split) and schedule. What the astrocytes add is their row minus this one.
"""
_base_ = '../astronet/astronet-flops40_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py'

model = dict(
    modulator=dict(_delete_=True, type='astro_mm.FreeLogitsModulator'))
