"""AstroNet supp. Tab. 5: BoxInst on COCO 2017 (data/coco) with the
ResNet-50 pretrained on ImageNet-1k by standard training and by AstroNet
(pruned) swapped in."""
_base_ = './_coco_detection_base.py'
suite = dict(name='astronet-supp-tab5_coco',
             title='AstroNet supp. Tab. 5: BoxInst on COCO (mask AP)')
runs = [r for r in _base_.pretrain_runs
        if r['method'] in ('plain', 'astronet')] + [
    dict(name=f'boxinst_{m}', task='det', method=m, label='BoxInst',
         metric='segm',
         config=f'configs/boxinst/boxinst_r50{_base_.suffix[m]}_fpn_ms-90k_coco.py',
         backbone=_base_.backbone_of[m], paper=dict(AP=ap))
    for m, ap in (('plain', 32.1), ('astronet', 33.7))
]
