"""BoxInst R-50-FPN 90k on COCO 2017 (data/coco), plain backbone from this
project's ImageNet pretraining: MA-Net Tab. 3 / AstroNet supp. Tab. 5
baseline (paper 32.1 mask AP)."""
_base_ = ['mmdet::boxinst/boxinst_r50_fpn_ms-90k_coco.py', '../_base_/coco_swap.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', _scope_='astro_mm',
            checkpoint=_base_.coco_pretrained,
            prefix='backbone.')))
val_evaluator = dict(type='astro_mm.EmptySafeCocoMetric')
test_evaluator = val_evaluator
