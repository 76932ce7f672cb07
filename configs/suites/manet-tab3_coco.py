"""MA-Net Tab. 3: BoxInst and CondInst on COCO 2017 (data/coco), mask AP,
with the ResNet-50 pretrained on ImageNet-1k by standard training, CDS,
AstroNet and MA-Net (pruned) swapped in."""
_base_ = './_coco_detection_base.py'
suite = dict(name='manet-tab3_coco',
             title='MA-Net Tab. 3: COCO instance segmentation (mask AP)')
paper = dict(
    boxinst=dict(plain=32.1, cds=32.5, astronet=32.7, manet=34.7),
    condinst=dict(plain=39.1, cds=39.8, astronet=40.0, manet=40.7))
configs = dict(boxinst='configs/boxinst/boxinst_r50{}_fpn_ms-90k_coco.py',
               condinst='configs/condinst/condinst_r50{}_fpn_ms-poly-90k_coco.py')
labels = dict(boxinst='BoxInst', condinst='CondInst')
runs = _base_.pretrain_runs + [
    dict(name=f'{d}_{m}', task='det', method=m, label=labels[d], metric='segm',
         config=configs[d].format(_base_.suffix[m]),
         backbone=_base_.backbone_of[m], paper=dict(AP=paper[d][m]))
    for d in ('boxinst', 'condinst')
    for m in ('plain', 'cds', 'astronet', 'manet')
]
