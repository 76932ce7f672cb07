"""AstroNet ResNet-18 (ImageNet stem) on the demo set: the AstroNet-pretrained
backbone of the demo detectors (prune it with tools/prune.py, then the
*_r18-astronet_* detector configs take it)."""
_base_ = [
    '../resnet/resnet18_1xb64-3e_demo-cifar.py',
    '../_base_/alternating_runtime.py',
    '../_base_/astronet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.astronet_algorithm)
# the weights train with the plain demo classifier's optimizer (AdamW: its
# docstring says why), the MNet with the paper's
optim_wrapper = dict(_base_.alternating_optim_wrapper,
                     tnet=dict(optimizer=_base_.optim_wrapper.optimizer))
# The short schedule: one round every 10 iterations (the authors' code
# alternates every batch), 2 warm-up rounds, then Phi- and W-rounds alternate.
custom_hooks = [
    dict(_base_.alternating_hook, round_unit='iter', round_interval=10),
    dict(_base_.probability_history_hook, interval=10),
]
model.update(warmup_rounds=2)
