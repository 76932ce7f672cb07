"""Budget-aware MA-Net ResNet-20 (stride-2 stem) on Fashion-MNIST with a
validation split, a row of the fair study (configs/suites/fair-study_
fashion-mnist-holdout5k.py): keep 40 % of the backbone's FLOPs (MACs of
one 28 x 28 image). Everything else as
manet-params40_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py.
"""
_base_ = './manet-params40_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py'

model = dict(budget=dict(measure='flops', input_shape=(1, 28, 28)))
