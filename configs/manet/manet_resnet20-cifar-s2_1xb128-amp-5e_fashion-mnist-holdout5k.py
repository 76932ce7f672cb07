"""Paper-faithful MA-Net ResNet-20 (stride-2 stem) on Fashion-MNIST with a
validation split: the baseline row of the paper-mode sensitivity study
(configs/suites/paper-mode-sensitivity_fashion-mnist-holdout5k.py). The
converged study's paper-faithful row (manet_resnet20-cifar-s2_1xb128-amp-5e_
fashion-mnist.py: the papers' objective with lambda = 0.1 times L_reg, SGD
0.1 for the TNet and every sub-astrocyte, M = 3, a 50-iteration warm-up,
then a Phi-step and a W-step on every batch, P starting at 0.95, L_reg's
views with 10 % noise), trained on 55,000 training images
(configs/_base_/datasets/fashion-mnist_holdout-5k.py).
"""
_base_ = [
    './manet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py',
    '../_base_/datasets/fashion-mnist_holdout-5k.py',
]
train_dataloader = _base_.holdout_train_dataloader
val_dataloader = _base_.holdout_val_dataloader
val_evaluator = _base_.holdout_val_evaluator
test_dataloader = _base_.holdout_test_dataloader
test_evaluator = _base_.holdout_test_evaluator
