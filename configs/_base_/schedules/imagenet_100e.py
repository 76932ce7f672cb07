# mmpretrain's ImageNet schedule (SGD lr 0.1, 100 epochs, batch 256).
_base_ = 'mmpretrain::_base_/schedules/imagenet_bs256.py'
