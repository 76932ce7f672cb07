"""Plain ResNet-20 (stride-2 stem) on Fashion-MNIST, a row of the converged
study: its schedule (5 epochs, bfloat16 autocast;
configs/_base_/schedules/fashion-mnist_amp-5e.py says why), otherwise
resnet20-cifar-s2_1xb128-4e_fashion-mnist.py.
"""
_base_ = [
    './resnet20-cifar-s2_1xb128-4e_fashion-mnist.py',
    '../_base_/schedules/fashion-mnist_amp-5e.py',
]
optim_wrapper = _base_.amp_wrapper
param_scheduler = _base_.amp_scheduler
train_cfg = _base_.amp_train_cfg
