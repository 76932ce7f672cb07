"""Paper-faithful AstroNet ResNet-20 (stride-2 stem) on Fashion-MNIST, hold-out
split: a row of the paper-mode sensitivity study (configs/suites/paper-mode-
sensitivity_fashion-mnist-holdout5k.py), the baseline
(astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py) but
for the temporal term across Phi-rounds (temporal_span='rounds', U still the
L2 normalization): e^t compares the final P of this Phi-step with that of
the last Phi-step of the previous round (rounds of 50 iterations), and the
term asks it to equal the previous round's e. The literal reading compares
the T = 6 iterations of one forward, which reach the AN's fixed point (e^6 ~
e^5 ~ 1e-8), so its term is ~0 (AstroNetModulator's docstring).
"""
_base_ = [
    './astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py',
]
model = dict(modulator=dict(temporal_span='rounds'))
