"""Paper-faithful AstroNet ResNet-20 (stride-2 stem) on Fashion-MNIST, hold-out
split: a row of the paper-mode sensitivity study (configs/suites/paper-mode-
sensitivity_fashion-mnist-holdout5k.py), the baseline
(astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py) but
for the long warm-up. The authors' code trains W alone for 5 of its 200
epochs (2.5 %); the baseline's 50 iterations are 2.3 % of this 5-epoch
schedule (2,150 iterations of 430), the same share. Five epochs here would
be the whole schedule, so the literal warm-up cannot run; this variant takes
the first round boundary after one epoch: 9 rounds of 50 iterations (450
iterations, 1.05 epochs, 21 % of the schedule), so W is near converged
before P acts. The round length (50 iterations, which carries MA-Net's state
and the weight history) stays the baseline's: only the warm-up changes.
"""
_base_ = [
    './astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py',
]
model = dict(warmup_rounds=9)
