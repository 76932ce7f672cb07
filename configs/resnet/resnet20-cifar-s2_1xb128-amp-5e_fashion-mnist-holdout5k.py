"""Plain ResNet-20 (stride-2 stem) on Fashion-MNIST with a validation split,
the plain row of the fair study (configs/suites/fair-study_fashion-mnist-
holdout5k.py): the converged study's network and 5-epoch bfloat16 schedule
(resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py), trained on 55,000
training images; the other 5,000 are the validation split the study's
settings are chosen on, and the test set is left for the reported figures
(configs/_base_/datasets/fashion-mnist_holdout-5k.py).
"""
_base_ = [
    './resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py',
    '../_base_/datasets/fashion-mnist_holdout-5k.py',
]
train_dataloader = _base_.holdout_train_dataloader
val_dataloader = _base_.holdout_val_dataloader
val_evaluator = _base_.holdout_val_evaluator
test_dataloader = _base_.holdout_test_dataloader
test_evaluator = _base_.holdout_test_evaluator
