"""Budget-aware AstroNet ResNet-20 (stride-2 stem) on Fashion-MNIST, a row of the
converged study (configs/suites/converged-study_fashion-mnist.py): keep 60 %
of the backbone's parameters (astro_mm's budget-aware mode, not in the
papers; METHOD.md). The paper-faithful config's network, data, schedule and
TNet optimizer; only the prunable units (each block's inner channels) are
modulated, by hard gates; a Phi-step and a W-step on every batch; the MNet
on AdamW with clipping. Prune at the gates with tools/prune.py CONFIG
CKPT --out OUT.pth, then fine-tune with tools/train.py OUT.py.
"""
_base_ = './astronet_resnet20-cifar-s2_1xb128-4e_fashion-mnist.py'

model = dict(budget=dict(target=0.6))
optim_wrapper = _base_.budget_optim_wrapper
# rounds of 50 iterations (the warm-up is one round), as the paper-faithful
# config
custom_hooks = [
    dict(_base_.budget_hook, round_interval=50),
    dict(_base_.probability_history_hook, interval=100),
]
