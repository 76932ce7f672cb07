"""MA-Net Tab. 11: M = 6 sub-astrocytes of K = 6 LSTM layers each (the
table's setting, matching AstroNet's T = 6), RNT18 on CIFAR-10 (paper:
96.81 %, MNet 7.56 M). With M != 4 the layers are split into M contiguous runs."""
_base_ = './manet_resnet18-cifar_8xb16-200e_cifar10.py'

model = dict(modulator=dict(num_astrocytes=6, num_lstm=6))
