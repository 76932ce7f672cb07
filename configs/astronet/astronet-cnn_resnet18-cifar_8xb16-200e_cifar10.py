"""AstroNet supp. Tab. 1: AN shaped as CNN (paper: 94.21, 7.9 M; UNet 94.35 +- 0.14, 7.6 M)."""
_base_ = './astronet_resnet18-cifar_8xb16-200e_cifar10.py'

model = dict(modulator=dict(shape='cnn'))
