"""AstroNet supp. Tab. 1: AN shaped as FCN (paper: 94.31 +- 0.17, 7.8 M; UNet 94.35 +- 0.14, 7.6 M)."""
_base_ = './astronet_resnet18-cifar_8xb16-200e_cifar10.py'

model = dict(modulator=dict(shape='fcn'))
