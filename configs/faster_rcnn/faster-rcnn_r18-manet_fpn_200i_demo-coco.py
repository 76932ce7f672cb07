"""MA-Net row of MA-Net Tab. 4 (Faster R-CNN: 37.4 -> 39.8 box AP), at demo
scale: the MA-Net-pretrained backbone, physically pruned by tools/prune.py,
swapped into faster-rcnn_r18_fpn_200i_demo-coco.py (everything else unchanged).
Override the file with --cfg-options model.backbone.widths=F model.backbone.init_cfg.checkpoint=F."""
_base_ = './faster-rcnn_r18_fpn_200i_demo-coco.py'

pruned_checkpoint = _base_.demo_pruned['manet']
model = dict(
    backbone=dict(
        _delete_=True,
        type='astro_mm.PrunedResNet',
        base=_base_.model.backbone,
        widths=pruned_checkpoint,
        init_cfg=dict(
            type='Pretrained', _scope_='astro_mm',
            checkpoint=pruned_checkpoint,
            prefix='backbone.')))
