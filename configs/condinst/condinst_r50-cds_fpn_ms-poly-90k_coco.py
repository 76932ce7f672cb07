"""CDS row of MA-Net Tab. 3 (CondInst: 39.1 -> 39.8 mask AP), at COCO 2017
scale: the CDS-pretrained backbone
(configs/cds/cds_resnet50_8xb32-100e_in1k.py; its projection heads are
dropped, the backbone is a plain ResNet) swapped into condinst_r50_fpn_ms-
poly-90k_coco.py (everything else unchanged).
Override the file with --cfg-options model.backbone.init_cfg.checkpoint=F."""
_base_ = './condinst_r50_fpn_ms-poly-90k_coco.py'

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=_base_.coco_cds_pretrained)))
