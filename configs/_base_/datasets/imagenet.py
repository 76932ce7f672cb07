# Real ImageNet-1k at the standard path data/imagenet (train/, val/ and the
# meta/ annotation files), as in mmpretrain.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'
