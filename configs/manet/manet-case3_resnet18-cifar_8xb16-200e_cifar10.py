"""MA-Net Tab. 12, Case 3: chain optimization without the astrocytes' own
history (paper: 96.79 %, 6.97 M), RNT18 on CIFAR-10. Ours (chain + history)
is manet_resnet18-cifar_8xb16-200e_cifar10.py."""
_base_ = './manet_resnet18-cifar_8xb16-200e_cifar10.py'

model = dict(modulator=dict(joint='chain', use_history=False))
