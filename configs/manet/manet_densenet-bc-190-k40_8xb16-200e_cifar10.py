"""MA-Net DenseNet-BC (L=190, k=40) on CIFAR-10: MA-Net Tab. 7, "Ours
(DNT-BC)" row (paper: 97.77 %, 7.52 M after pruning, from 25.60 M). The
modulated units are the bottleneck channels (P after norm2); M = 4
sub-astrocytes over the three dense blocks, as contiguous runs of layers.
Rounds are epochs, R_TN = 5."""
_base_ = [
    '../densenet/densenet-bc-190-k40_8xb16-200e_cifar10.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.manet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
