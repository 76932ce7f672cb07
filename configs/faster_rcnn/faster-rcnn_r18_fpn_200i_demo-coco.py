"""Faster R-CNN, R-18-FPN, on the demo COCO set, backbone swapped in from
this project's demo classification checkpoint (plain baseline of MA-Net
Tab. 4 at demo scale). Inherits mmdet 3.3's faster-rcnn_r50_fpn_1x_coco and
changes only the backbone depth, the data and the CPU schedule."""
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/demo_coco_detection.py',
]

model = dict(
    data_preprocessor=_base_.demo_data_preprocessor,
    backbone=dict(
        depth=18,
        init_cfg=dict(
            type='Pretrained', _scope_='astro_mm',
            checkpoint=_base_.demo_pretrained,
            prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]),
    roi_head=dict(bbox_head=dict(num_classes=_base_.demo_num_classes)),
    # A 192-px image holds at most 5 objects: 300 proposals and 128 sampled
    # RoIs per image (mmdet: 1000 / 512) cut the 2-FC box head's cost, which
    # dominates a CPU step, by 4x.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

train_dataloader = _base_.demo_train_dataloader
val_dataloader = _base_.demo_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.demo_val_evaluator
test_evaluator = val_evaluator
train_cfg = _base_.demo_train_cfg
param_scheduler = _base_.demo_param_scheduler
default_hooks = _base_.demo_default_hooks
log_processor = _base_.demo_log_processor
optim_wrapper = dict(optimizer=dict(lr=0.01))
# The demo schedule is written for one device of batch 2 (mmdet's base says
# 8 x 2 = 16); read by the cost planner, lr scaling stays off.
auto_scale_lr = dict(base_batch_size=2)
