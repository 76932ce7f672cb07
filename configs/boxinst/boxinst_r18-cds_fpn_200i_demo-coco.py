"""CDS row of MA-Net Tab. 3 (BoxInst: 32.1 -> 32.5 mask AP), at demo scale: the
CDS-pretrained backbone (configs/cds/cds_resnet18_1xb64-3e_demo-cifar.py;
its projection heads are dropped, the backbone is a plain ResNet) swapped
into boxinst_r18_fpn_200i_demo-coco.py (everything else unchanged).
Override the file with --cfg-options model.backbone.init_cfg.checkpoint=F."""
_base_ = './boxinst_r18_fpn_200i_demo-coco.py'

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=_base_.demo_cds_pretrained)))
