"""Plain Swin-B on ImageNet-1k at 384 px: MA-Net Tab. 5, Swin baseline row
(paper: 84.50 %, 84.70 M; 84.5 % is the Swin paper's ImageNet-1k Swin-B at
384 px, 88 M parameters). Data at data/imagenet.

mmpretrain's Swin-B training recipe (``swin-base_16xb64_in1k.py``: AdamW,
300 epochs, drop path 0.5, Mixup / CutMix, label smoothing) at 384 px with
12x12 windows (mmpretrain's 384 px dataset base); composed from its
``_base_`` files, as the full config brings mmpretrain's runtime. The Swin
paper fine-tunes its 384 px model from the 224 px one; this config trains
at 384 px directly."""
_base_ = [
    'mmpretrain::_base_/models/swin_transformer/base_224.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_384.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        img_size=384, stage_cfgs=dict(block_cfgs=dict(window_size=12))))
optim_wrapper = dict(clip_grad=dict(max_norm=5.0))
