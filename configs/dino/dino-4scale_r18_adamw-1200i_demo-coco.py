"""DINO (4 scales), R-18, on the demo COCO set: a faster-converging successor
of DETR, tried where DETR reaches no 5 box AP on this set (issue "Real data
answers the question", section 2). It does: 8.8-12.9 box AP at 400
iterations, 33.7 at 1,200 (benchmarks/detector_ap_curve.py --detectors
dino; benchmarks/RESULTS.md). Not a demo row, nor a row of the papers'
tables: MA-Net Tab. 4 uses DETR.

Inherits mmdet 3.3's dino-4scale_r50_8xb2-12e_coco and changes the backbone
depth, the data, the CPU schedule, and the transformer's size to what this
CPU can train: 3 + 3 layers (mmdet: 6 + 6), 100 queries (900) and 50
denoising queries (100), on 4 levels of strides 8-64 (at 192 px: 24 x 24
down to 3 x 3 tokens). The optimizer is mmdet's DINO one (AdamW 1e-4,
backbone at a tenth, clip 0.1); the schedule the demo's AdamW detectors'
(warm-up, step decay at 80 %)."""
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    '../_base_/demo_coco_detection.py',
]

max_iters = 1200
num_queries = 100
model = dict(
    num_queries=num_queries,
    data_preprocessor=_base_.demo_data_preprocessor,
    backbone=dict(
        depth=18,
        init_cfg=dict(
            type='Pretrained', _scope_='astro_mm',
            checkpoint=_base_.demo_pretrained,
            prefix='backbone.')),
    neck=dict(in_channels=[128, 256, 512]),
    encoder=dict(num_layers=3),
    decoder=dict(num_layers=3),
    bbox_head=dict(num_classes=_base_.demo_num_classes),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=50)),
    test_cfg=dict(max_per_img=num_queries))

train_dataloader = _base_.demo_train_dataloader
val_dataloader = _base_.demo_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.demo_val_evaluator
test_evaluator = val_evaluator
train_cfg = dict(_base_.demo_train_cfg, max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = _base_.demo_adamw_param_scheduler
default_hooks = dict(_base_.demo_default_hooks,
                     checkpoint=dict(_base_.demo_default_hooks.checkpoint,
                                     interval=max_iters))
log_processor = _base_.demo_log_processor
# The demo schedule is written for one device of batch 2 (mmdet's base says
# 8 x 2 = 16); read by the cost planner, lr scaling stays off.
auto_scale_lr = dict(base_batch_size=2)
