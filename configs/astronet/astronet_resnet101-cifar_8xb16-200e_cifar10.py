"""AstroNet ResNet-101 (CIFAR variant) on CIFAR-10 (data/cifar10): AstroNet row of ResNet-101 on CIFAR-10 (no row in the papers)."""
_base_ = [
    '../resnet/resnet101-cifar_8xb16-200e_cifar10.py',
    '../_base_/alternating_runtime.py',
    '../_base_/astronet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.astronet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
