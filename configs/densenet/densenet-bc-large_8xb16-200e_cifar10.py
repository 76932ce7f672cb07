"""Plain Large-DNT-BC on CIFAR-10: the TNet of MA-Net Tab. 10, Large row
(four dense blocks with outputs 64-256-256-512; k = 16, see
astro_mm.DenseNet_CIFAR for how the widths were read)."""
_base_ = './densenet-bc-100-k12_8xb16-200e_cifar10.py'

model = dict(backbone=dict(arch='bc-large'), head=dict(in_channels=512))
