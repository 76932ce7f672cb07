"""AstroNet ResNet-18 (CIFAR variant) on the demo set: the AstroNet row of
MA-Net Tab. 1 / AstroNet supp. Tab. 1, at demo scale."""
_base_ = [
    '../resnet/resnet18-cifar_1xb64-3e_demo-cifar.py',
    '../_base_/alternating_runtime.py',
    '../_base_/astronet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.astronet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
# The short schedule: one round every 10 iterations (the authors' code
# alternates every batch), 2 warm-up rounds, then Phi- and W-rounds alternate.
custom_hooks = [
    dict(_base_.alternating_hook, round_unit='iter', round_interval=10),
    dict(_base_.probability_history_hook, interval=10),
]
model.update(warmup_rounds=2)
