"""MA-Net Tab. 12, Case 2: independent sub-astrocytes, each conditioned on
its own output of the previous round (paper: 96.57 %, 7.29 M), RNT18 on
CIFAR-10."""
_base_ = './manet_resnet18-cifar_8xb16-200e_cifar10.py'

model = dict(modulator=dict(joint='independent', use_history=True))
