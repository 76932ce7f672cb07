# mmpretrain's CIFAR-10 schedule (SGD lr 0.1, 200 epochs, batch 128).
_base_ = 'mmpretrain::_base_/schedules/cifar10_bs128.py'
