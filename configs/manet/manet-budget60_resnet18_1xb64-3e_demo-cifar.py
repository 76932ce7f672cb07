"""Budget-aware MA-Net ResNet-18 (ImageNet stem) on the demo set: keep 60 %
of the backbone's parameters (astro_mm's budget-aware mode, METHOD.md). The
demo's astro row: pruned at the gate threshold, fine-tuned, then swapped
into the four demo detectors (the *_r18-manet_* configs).

Same data, schedule and TNet optimizer as the plain demo config. Four
sub-astrocytes (one per stage); only the prunable units (each block's inner
channels) are modulated, by hard gates; a Phi-step and a W-step on every
batch; the MNet on AdamW with clipping. The warm-up is one round.
"""
_base_ = [
    '../resnet/resnet18_1xb64-3e_demo-cifar.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True,
    architecture=_base_.model,
    **dict(_base_.manet_algorithm,
           warmup_rounds=1,
           budget=dict(target=0.6)))
# the weights train with the plain demo classifier's optimizer (AdamW: its
# docstring says why)
optim_wrapper = dict(_base_.budget_optim_wrapper,
                     tnet=dict(optimizer=_base_.optim_wrapper.optimizer))
# rounds of 20 iterations: the demo schedule has a few hundred iterations
custom_hooks = [
    dict(_base_.budget_hook, round_interval=20),
    dict(_base_.probability_history_hook, interval=20),
]
