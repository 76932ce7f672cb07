"""MA-Net ResNet-50 on CIFAR-10: MA-Net Tab. 1, RNT50 row (paper: 97.10 %,
7.36 M after pruning)."""
_base_ = [
    '../resnet/resnet50-cifar_8xb16-200e_cifar10.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.manet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
