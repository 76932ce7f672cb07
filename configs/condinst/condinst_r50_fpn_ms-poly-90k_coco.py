"""CondInst R-50-FPN 90k on COCO 2017 (data/coco), plain backbone from
this project's ImageNet pretraining: MA-Net Tab. 3 baseline (paper 39.1 mask AP)."""
_base_ = ['mmdet::condinst/condinst_r50_fpn_ms-poly-90k_coco_instance.py', '../_base_/coco_swap.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', _scope_='astro_mm',
            checkpoint=_base_.coco_pretrained,
            prefix='backbone.')))
val_evaluator = dict(type='astro_mm.EmptySafeCocoMetric')
test_evaluator = val_evaluator
