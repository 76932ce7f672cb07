"""MA-Net Swin-B on ImageNet-1k at 384 px: MA-Net Tab. 5, "Ours (Swin)" row
(paper: 85.66 %, 75.62 M after pruning, from 84.70 M).

Units: the FFN hidden neurons and the heads of every block; M = 4: one
sub-astrocyte per Swin stage. Pruning removes FFN neurons; heads under
delta are folded to zero but stay (mmpretrain's WindowMSA derives the head
width from the residual width). The TNet keeps Swin's own recipe (AdamW,
gradient clipping at 5.0, no decay on norms, biases and position tables);
the MNet the paper's SGD, lr 0.1. Rounds are epochs, R_TN = 5."""
_base_ = [
    '../swin/swin-base_16xb64_in1k-384px.py',
    '../_base_/alternating_runtime.py',
    '../_base_/manet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.manet_algorithm)
optim_wrapper = dict(
    _base_.alternating_optim_wrapper,
    tnet=dict(optimizer=_base_.optim_wrapper.optimizer,
              clip_grad=dict(max_norm=5.0)),
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg)
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
