"""AstroNet supp. Tab. 2: lambda = 0, ResNet-18 (paper: 94.25 +- 0.20; lambda 1e-3 is the default config)."""
_base_ = './astronet_resnet18-cifar_8xb16-200e_cifar10.py'

model = dict(modulator=dict(temporal_weight=0.0))
