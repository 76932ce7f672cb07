"""MA-Net Tiny-DNT-BC (64-128-128-256) on CIFAR-10: MA-Net Tab. 10,
Tiny row (paper: 97.55 %, 7.25 M). M = 4: one sub-astrocyte per dense
block. Rounds are epochs, R_TN = 5."""
_base_ = [
    '../densenet/densenet-bc-tiny_8xb16-200e_cifar10.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.manet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
