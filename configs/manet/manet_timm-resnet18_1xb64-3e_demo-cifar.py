"""MA-Net with a timm model as the TNet: timm's ResNet-18 (through
mmpretrain's TIMMBackbone, pretrained=False) on the demo set, as the demo
ResNet-18 row. Any timm model name works the same way; the modulated layers
are found under ``timm_model.`` (stem excluded), and MA-Net's M = 4
sub-astrocytes take one stage each (``timm_model.layer1`` ... ``layer4``).
Rounds of 10 iterations."""
_base_ = [
    '../resnet/resnet18_1xb64-3e_demo-cifar.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

timm_architecture = dict(
    _base_.model,
    backbone=dict(
        type='TIMMBackbone', model_name='resnet18', pretrained=False))
model = dict(
    _delete_=True, architecture=timm_architecture, **_base_.manet_algorithm)
# the weights train with the plain demo classifier's optimizer (AdamW: its
# docstring says why), the MNet with the paper's
optim_wrapper = dict(_base_.alternating_optim_wrapper,
                     tnet=dict(optimizer=_base_.optim_wrapper.optimizer))
custom_hooks = [
    dict(_base_.alternating_hook, round_unit='iter', round_interval=10),
    dict(_base_.probability_history_hook, interval=10),
]
model.update(warmup_rounds=2)
