"""AstroNet ResNet-50 on ImageNet-1k (data/imagenet): AstroNet row of MA-Net Tab. 2, RNT50 (paper: baseline 75.30 %, 26.11 M; MA-Net 78.96 %, 8.16 M)."""
_base_ = [
    '../resnet/resnet50_8xb32-100e_in1k.py',
    '../_base_/alternating_runtime.py',
    '../_base_/astronet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.astronet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
