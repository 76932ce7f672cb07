"""CDS row of MA-Net Tab. 4 (DETR: 42.9 -> 43.2 box AP), at COCO 2017 scale:
the CDS-pretrained backbone (configs/cds/cds_resnet50_8xb32-100e_in1k.py;
its projection heads are dropped, the backbone is a plain ResNet) swapped
into detr_r50_8xb2-150e_coco.py (everything else unchanged).
Override the file with --cfg-options model.backbone.init_cfg.checkpoint=F."""
_base_ = './detr_r50_8xb2-150e_coco.py'

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=_base_.coco_cds_pretrained)))
