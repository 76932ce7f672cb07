"""Paper-faithful MA-Net ResNet-20 (stride-2 stem) on Fashion-MNIST, hold-out
split: a row of the paper-mode sensitivity study (configs/suites/paper-mode-
sensitivity_fashion-mnist-holdout5k.py), the baseline
(manet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py) but for
every sub-astrocyte at a constant lr. In the baseline the MNet's optimizers
follow the TNet's schedule (a linear warm-up over 100 iterations, then the
cosine to 0: ~5e-6 in the last iterations), so late Phi-steps cannot move P.
Here they keep SGD's lr 0.1 (momentum 0.9) from their first step to the last
(configs/_base_/schedules/mnet_constant_lr.py); the TNet keeps its schedule.
"""
_base_ = [
    './manet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py',
    '../_base_/schedules/mnet_constant_lr.py',
]
param_scheduler = dict(
    _delete_=True,
    tnet=_base_.amp_scheduler,
    **_base_.constant_mnet_schedulers)
