"""AstroNet supp. Tab. 3: G = largest connection (paper: 94.31, 7.8 M; mixture 94.35, 7.6 M)."""
_base_ = './astronet_resnet18-cifar_8xb16-200e_cifar10.py'

model = dict(descriptor='max')
