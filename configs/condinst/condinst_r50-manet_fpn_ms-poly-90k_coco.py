"""MA-Net row of MA-Net Tab. 3 (CondInst: 39.1 -> 40.7 mask AP), at COCO 2017
scale: the MA-Net-pretrained backbone, physically pruned by tools/prune.py,
swapped into condinst_r50_fpn_ms-poly-90k_coco.py (everything else unchanged).
Override the file with --cfg-options model.backbone.widths=F model.backbone.init_cfg.checkpoint=F."""
_base_ = './condinst_r50_fpn_ms-poly-90k_coco.py'

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
