# Shared by the COCO 2017 detector configs: the astro_mm import (safe
# checkpoint loading) and the ImageNet checkpoint of this project that is
# swapped into the detector's backbone. Override it on the command line:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
custom_imports = dict(
    imports=['astro_mm', 'astro_mm.compat.enable'], allow_failed_imports=False)
coco_pretrained = 'work_dirs/resnet50_8xb32-100e_in1k/epoch_100.pth'
# The checkpoint of configs/cds/cds_resnet50_8xb32-100e_in1k.py (RNT50-CDS),
# taken by the *_r50-cds_* COCO detector configs.
coco_cds_pretrained = 'work_dirs/cds_resnet50_8xb32-100e_in1k/epoch_100.pth'
# tools/prune.py outputs of configs/{manet,astronet}/*_resnet50_8xb32-100e_in1k.py,
# taken by the *_r50-{manet,astronet}_* COCO detector configs.
coco_pruned = dict(
    manet='work_dirs/pruned/manet_resnet50_in1k.pth',
    astronet='work_dirs/pruned/astronet_resnet50_in1k.pth')
