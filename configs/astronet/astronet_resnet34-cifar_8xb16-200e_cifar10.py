"""AstroNet ResNet-34 (CIFAR variant) on CIFAR-10 (data/cifar10): AstroNet row of AstroNet supp. Tab. 2, ResNet34 (paper: 93.56 %, 21.28 M; AstroNet 94.51 %, 9.7 M)."""
_base_ = [
    '../resnet/resnet34-cifar_8xb16-200e_cifar10.py',
    '../_base_/alternating_runtime.py',
    '../_base_/astronet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.astronet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
