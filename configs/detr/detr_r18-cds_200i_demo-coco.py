"""CDS row of MA-Net Tab. 4 (DETR: 42.9 -> 43.2 box AP), at demo scale: the
CDS-pretrained backbone (configs/cds/cds_resnet18_1xb64-3e_demo-cifar.py;
its projection heads are dropped, the backbone is a plain ResNet) swapped
into detr_r18_200i_demo-coco.py (everything else unchanged).
Override the file with --cfg-options model.backbone.init_cfg.checkpoint=F."""
_base_ = './detr_r18_200i_demo-coco.py'

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=_base_.demo_cds_pretrained)))
