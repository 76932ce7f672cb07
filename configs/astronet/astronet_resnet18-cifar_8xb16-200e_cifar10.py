"""AstroNet ResNet-18 on CIFAR-10: MA-Net Tab. 1 AstroNet row and AstroNet
supp. Tab. 1-3 default (UNet AN, lambda 1e-3, mixed G: 94.35 %, 7.6 M)."""
_base_ = [
    '../resnet/resnet18-cifar_8xb16-200e_cifar10.py',
    '../_base_/alternating_runtime.py',
    '../_base_/astronet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.astronet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
