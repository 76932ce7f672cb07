"""MA-Net ResNet-20 (stride-2 stem) on Fashion-MNIST, paper-faithful: the
papers' objective (cross-entropy plus lambda = 0.1 times the regularizer
on P; delta = 1e-3) and optimizers (SGD 0.1 for the TNet and for every
sub-astrocyte), three sub-astrocytes (one per stage of ResNet-20). Same
data, schedule and TNet optimizer as the plain config.

Alternation as the authors' code does it: after one warm-up round of 50
iterations (W only), every batch gets a Phi-step and then a W-step, so W is
updated on every batch as in the plain network (one round per epoch, the
paper's text, would leave a 4-epoch schedule one Phi-round).
"""
_base_ = [
    '../resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True,
    architecture=_base_.model,
    **dict(_base_.manet_algorithm,
           modulator=dict(_base_.manet_modulator, num_astrocytes=3),
           warmup_rounds=1))
optim_wrapper = _base_.alternating_optim_wrapper
custom_hooks = [
    dict(_base_.alternating_hook, round_unit='iter', round_interval=50,
         alternation='per_batch'),
    dict(_base_.probability_history_hook, interval=100),
]
