"""AstroNet ViT-B/16 on ImageNet-1k at 384 px: AstroNet supp. Tab. 4, "Ours
(ViT)" row (paper: 79.3 %, 68 M after pruning, from 86 M).

Units: the FFN hidden neurons (3072 per layer) and the 12 heads of every
layer, all read by the one AN.
The TNet keeps ViT's own recipe (AdamW, gradient clipping at 1.0, no decay
on the tokens: "by following their settings for training"); the MNet the
paper's SGD, lr 0.1. The ViT schedule (warm-up + cosine) drives both.
Rounds are epochs, R_TN = 5."""
_base_ = [
    '../vit/vit-base-p16_64xb64_in1k-384px.py',
    '../_base_/alternating_runtime.py',
    '../_base_/astronet_model.py',
]

model = dict(
    _delete_=True, architecture=_base_.model, **_base_.astronet_algorithm)
optim_wrapper = dict(
    _base_.alternating_optim_wrapper,
    tnet=dict(optimizer=_base_.optim_wrapper.optimizer,
              clip_grad=dict(max_norm=1.0)),
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg)
custom_hooks = [_base_.alternating_hook, _base_.probability_history_hook]
