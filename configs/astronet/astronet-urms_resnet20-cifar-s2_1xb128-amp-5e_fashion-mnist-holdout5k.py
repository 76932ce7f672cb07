"""Paper-faithful AstroNet ResNet-20 (stride-2 stem) on Fashion-MNIST, hold-out
split: a row of the paper-mode sensitivity study (configs/suites/paper-mode-
sensitivity_fashion-mnist-holdout5k.py), the baseline
(astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py) but
for the temporal term across Phi-rounds with U(P) = P / sqrt(n)
(temporal_norm='rms', temporal_span='rounds'): e = RMS(P - P_prev), which
also sees a uniform change of P, where the L2 normalization (and
standardization) cannot; e^1 = RMS(P) is not constant. With the inner span
this U changes nothing (the AN's fixed point makes e^6 ~ e^5 for every U),
hence the pair with temporal_span='rounds'; against urounds it isolates U.
"""
_base_ = [
    './astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py',
]
model = dict(
    modulator=dict(temporal_span='rounds', temporal_norm='rms'))
