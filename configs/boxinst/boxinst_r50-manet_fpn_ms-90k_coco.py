"""MA-Net row of MA-Net Tab. 3 (BoxInst: 32.1 -> 34.7 mask AP) and AstroNet supp. Tab. 5 (32.1 -> 33.7 AP), at COCO 2017
scale: the MA-Net-pretrained backbone, physically pruned by tools/prune.py,
swapped into boxinst_r50_fpn_ms-90k_coco.py (everything else unchanged).
Override the file with --cfg-options model.backbone.widths=F model.backbone.init_cfg.checkpoint=F."""
_base_ = './boxinst_r50_fpn_ms-90k_coco.py'

pruned_checkpoint = _base_.coco_pruned['manet']
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
