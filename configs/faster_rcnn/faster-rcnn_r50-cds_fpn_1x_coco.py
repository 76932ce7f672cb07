"""CDS row of MA-Net Tab. 4 (Faster R-CNN: 37.4 -> 38.3 box AP), at COCO 2017
scale: the CDS-pretrained backbone
(configs/cds/cds_resnet50_8xb32-100e_in1k.py; its projection heads are
dropped, the backbone is a plain ResNet) swapped into faster-
rcnn_r50_fpn_1x_coco.py (everything else unchanged).
Override the file with --cfg-options model.backbone.init_cfg.checkpoint=F."""
_base_ = './faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=_base_.coco_cds_pretrained)))
