"""MA-Net DenseNet-BC (L=40, k=12) on the demo set: the DenseNet-BC rows
(MA-Net Tab. 7 / 10) at demo scale; the modulated units are the bottleneck
channels (P after norm2); M = 4 sub-astrocytes over its three dense
blocks, as contiguous runs of layers. Rounds of 10 iterations."""
_base_ = [
    '../densenet/densenet-bc-40-k12_1xb64-3e_demo-cifar.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.manet_algorithm)
optim_wrapper = _base_.alternating_optim_wrapper
# The short schedule: one round every 10 iterations (the authors' code
# alternates every batch), 2 warm-up rounds, then Phi- and W-rounds alternate.
custom_hooks = [
    dict(_base_.alternating_hook, round_unit='iter', round_interval=10),
    dict(_base_.probability_history_hook, interval=10),
]
model.update(warmup_rounds=2)
