"""Faster R-CNN R-50-FPN 1x on COCO 2017 (data/coco), plain backbone from
this project's ImageNet pretraining: MA-Net Tab. 4 baseline (paper 37.4 box AP)."""
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', '../_base_/coco_swap.py']

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', _scope_='astro_mm',
            checkpoint=_base_.coco_pretrained,
            prefix='backbone.')))
val_evaluator = dict(type='astro_mm.EmptySafeCocoMetric')
test_evaluator = val_evaluator
