"""MA-Net ResNet-18 (CIFAR variant) on Fashion-MNIST (real data): the
MA-Net arm of the Fashion-MNIST study, same schedule as the plain config."""
_base_ = [
    '../resnet/resnet18-cifar_1xb128-5e_fashion-mnist.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.manet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
# The short schedule: one round every 10 iterations (the authors' code
# alternates every batch), 2 warm-up rounds, then Phi- and W-rounds alternate.
custom_hooks = [
    dict(_base_.alternating_hook, round_unit='iter', round_interval=10),
    dict(_base_.probability_history_hook, interval=10),
]
model.update(warmup_rounds=2)
