"""DETR R-50 150e on COCO 2017 (data/coco), plain backbone from this
project's ImageNet pretraining: MA-Net Tab. 4 baseline (paper 42.9 box AP)."""
_base_ = ['mmdet::detr/detr_r50_8xb2-150e_coco.py', '../_base_/coco_swap.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', _scope_='astro_mm',
            checkpoint=_base_.coco_pretrained,
            prefix='backbone.')))
val_evaluator = dict(type='astro_mm.EmptySafeCocoMetric')
test_evaluator = val_evaluator
