"""Plain DenseNet-BC (L=190, k=40) on CIFAR-10: MA-Net Tab. 7, DNT-BC
baseline row (paper: 96.54 %, 25.60 M; this network has 25.60 M)."""
_base_ = './densenet-bc-100-k12_8xb16-200e_cifar10.py'

model = dict(backbone=dict(arch='bc-190-k40'), head=dict(in_channels=2190))
