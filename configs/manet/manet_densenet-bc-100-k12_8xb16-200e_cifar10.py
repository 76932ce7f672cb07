"""MA-Net DenseNet-BC (L=100, k=12) on CIFAR-10: the standard small
DenseNet-BC under MA-Net (not a table row). The modulated units are the
bottleneck channels (P after norm2); M = 4 sub-astrocytes over its three
dense blocks, as contiguous runs of layers. Rounds are epochs, R_TN = 5."""
_base_ = [
    '../densenet/densenet-bc-100-k12_8xb16-200e_cifar10.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.manet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
