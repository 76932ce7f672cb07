"""MA-Net Tab. 4: Faster R-CNN and DETR on COCO 2017 (data/coco), box AP,
with the ResNet-50 pretrained on ImageNet-1k by standard training, CDS,
AstroNet and MA-Net (pruned) swapped in."""
_base_ = './_coco_detection_base.py'
suite = dict(name='manet-tab4_coco',
             title='MA-Net Tab. 4: COCO object detection (box AP)')
paper = dict(
    faster_rcnn=dict(plain=37.4, cds=38.3, astronet=38.0, manet=39.8),
    detr=dict(plain=42.9, cds=43.2, astronet=43.5, manet=44.0))
configs = dict(faster_rcnn='configs/faster_rcnn/faster-rcnn_r50{}_fpn_1x_coco.py',
               detr='configs/detr/detr_r50{}_8xb2-150e_coco.py')
labels = dict(faster_rcnn='Faster R-CNN', detr='DETR')
runs = _base_.pretrain_runs + [
    dict(name=f'{d}_{m}', task='det', method=m, label=labels[d], metric='bbox',
         config=configs[d].format(_base_.suffix[m]),
         backbone=_base_.backbone_of[m], paper=dict(AP=paper[d][m]))
    for d in ('faster_rcnn', 'detr')
    for m in ('plain', 'cds', 'astronet', 'manet')
]
