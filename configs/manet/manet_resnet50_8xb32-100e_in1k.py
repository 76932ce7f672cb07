"""MA-Net ResNet-50 on ImageNet-1k: MA-Net Tab. 2, RNT50 row (paper: 78.96 %,
8.16 M) and the backbone of the MA-Net detector rows (Tab. 3, 4)."""
_base_ = [
    '../resnet/resnet50_8xb32-100e_in1k.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.manet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
