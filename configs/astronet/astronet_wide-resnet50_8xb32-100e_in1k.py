"""AstroNet WRN-50 on ImageNet-1k (data/imagenet): AstroNet row of WRN-50 on ImageNet-1k (no row in the papers)."""
_base_ = [
    '../resnet/wide-resnet50_8xb32-100e_in1k.py',
    '../_base_/alternating_runtime.py',
    '../_base_/astronet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.astronet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
