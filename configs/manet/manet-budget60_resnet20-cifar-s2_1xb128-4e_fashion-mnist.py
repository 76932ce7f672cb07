"""Budget-aware MA-Net ResNet-20 (stride-2 stem) on Fashion-MNIST, a row of
the converged study (configs/suites/converged-study_fashion-mnist.py): keep
60 % of the backbone's parameters (astro_mm's budget-aware mode, not in the papers;
METHOD.md). Same data, schedule and TNet optimizer as the plain config.

Three sub-astrocytes (one per stage of ResNet-20); only the prunable units
(each block's inner channels) are modulated, by hard gates; a Phi-step and a
W-step on every batch; the MNet on AdamW with clipping. Prune with
``tools/prune.py CONFIG CKPT --out OUT.pth`` (cuts at the gate threshold),
then fine-tune with ``tools/train.py OUT.py``.
"""
_base_ = [
    '../resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True,
    architecture=_base_.model,
    **dict(_base_.manet_algorithm,
           modulator=dict(_base_.manet_modulator, num_astrocytes=3),
           warmup_rounds=1,
           budget=dict(target=0.6)))
optim_wrapper = _base_.budget_optim_wrapper
# rounds of 50 iterations (the warm-up is one round), as the paper-faithful
# configs of the study
custom_hooks = [
    dict(_base_.budget_hook, round_interval=50),
    dict(_base_.probability_history_hook, interval=100),
]
