"""Paper-faithful AstroNet ResNet-20 (stride-2 stem) on Fashion-MNIST, hold-out
split: a row of the paper-mode sensitivity study (configs/suites/paper-mode-
sensitivity_fashion-mnist-holdout5k.py), the baseline
(astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py) but
for P starting at 0.5 instead of 0.95 (init_prob: the AN's bias is
logit(0.5) = 0). At 0.95 the sigmoid's slope is 0.048, at 0.5 it is 0.25: a
5x larger gradient reaches the logits, at the price of halving every
modulated unit's output when modulation starts.
"""
_base_ = [
    './astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py',
]
model = dict(modulator=dict(init_prob=0.5))
