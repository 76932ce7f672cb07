"""DETR, R-18, on the demo COCO set, backbone swapped in from this project's
demo classification checkpoint (plain baseline of MA-Net Tab. 4 at demo
scale). Inherits mmdet 3.3's detr_r50_8xb2-150e_coco and changes only the
backbone depth, the data and the CPU schedule. DETR converges slowly: at
200 iterations its AP is near 0 on any data; the config proves the path."""
_base_ = [
    'mmdet::detr/detr_r50_8xb2-150e_coco.py',
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
    neck=dict(in_channels=[512]),
    bbox_head=dict(num_classes=_base_.demo_num_classes))

train_dataloader = _base_.demo_train_dataloader
val_dataloader = _base_.demo_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.demo_val_evaluator
test_evaluator = val_evaluator
train_cfg = _base_.demo_train_cfg
param_scheduler = _base_.demo_param_scheduler
default_hooks = _base_.demo_default_hooks
log_processor = _base_.demo_log_processor
# The demo schedule is written for one device of batch 2 (mmdet's base says
# 8 x 2 = 16); read by the cost planner, lr scaling stays off.
auto_scale_lr = dict(base_batch_size=2)
