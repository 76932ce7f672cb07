# Real CIFAR-10 at the standard path data/cifar10 (cifar-10-batches-py
# inside), read by mmpretrain's CIFAR10 class with its official md5 check.
_base_ = 'mmpretrain::_base_/datasets/cifar10_bs16.py'

train_dataloader = dict(dataset=dict(data_root='data/cifar10', download=False))
val_dataloader = dict(dataset=dict(data_root='data/cifar10', download=False))
test_dataloader = val_dataloader
