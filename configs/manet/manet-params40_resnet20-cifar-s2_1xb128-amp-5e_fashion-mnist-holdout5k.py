"""Budget-aware MA-Net ResNet-20 (stride-2 stem) on Fashion-MNIST with a
validation split, a row of the fair study (configs/suites/fair-study_
fashion-mnist-holdout5k.py): keep 40 % of the backbone's parameters. The
converged study's row (manet-budget40_resnet20-cifar-s2_1xb128-amp-5e_
fashion-mnist.py: hard gates, augmented Lagrangian, AdamW for the MNet, the
5-epoch bfloat16 schedule), trained on 55,000 training images; the other
5,000 choose the MNet's lr (``optim_wrapper.mnet.optimizer.lr``, which sets
every Phi optimizer), the test set is for the reported figures only
(configs/_base_/datasets/fashion-mnist_holdout-5k.py).
"""
_base_ = [
    './manet-budget40_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py',
    '../_base_/datasets/fashion-mnist_holdout-5k.py',
]
train_dataloader = _base_.holdout_train_dataloader
val_dataloader = _base_.holdout_val_dataloader
val_evaluator = _base_.holdout_val_evaluator
test_dataloader = _base_.holdout_test_dataloader
test_evaluator = _base_.holdout_test_evaluator
