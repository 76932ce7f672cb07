"""MA-Net Tab. 12, Case 1: independent sub-astrocytes without their own
history (paper: 96.54 %, 7.33 M), RNT18 on CIFAR-10."""
_base_ = './manet_resnet18-cifar_8xb16-200e_cifar10.py'

model = dict(modulator=dict(joint='independent', use_history=False))
