"""Budget-aware AstroNet ResNet-20 (stride-2 stem) on Fashion-MNIST: keep
40 % of the backbone's parameters. Everything else as the 60 % config."""
_base_ = './astronet-budget60_resnet20-cifar-s2_1xb128-4e_fashion-mnist.py'

model = dict(budget=dict(target=0.4))
