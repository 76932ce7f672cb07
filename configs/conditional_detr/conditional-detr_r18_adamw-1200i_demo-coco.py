"""Conditional DETR, R-18, on the demo COCO set: DETR with conditional
cross-attention queries and a focal classification loss, and nothing else
of DINO's (no deformable attention, no denoising queries, one feature
level). Tried beside DINO where DETR reaches no 5 box AP on this set (issue
"Real data answers the question", section 2), to tell which of DINO's
changes lets a DETR-family detector learn it (benchmarks/RESULTS.md). Not
a demo row, nor a row of the papers' tables: MA-Net Tab. 4 uses DETR.

Inherits mmdet 3.3's conditional-detr_r50_8xb2-50e_coco and changes the
backbone depth, the data, the CPU schedule, and the transformer's size to
DINO's demo config's: 3 + 3 layers (mmdet: 6 + 6) and 100 queries (300).
The optimizer is mmdet's DETR one (AdamW 1e-4, backbone at a tenth, clip
0.1); the schedule the demo's AdamW detectors' (warm-up, step decay at
80 %)."""
_base_ = [
    'mmdet::conditional_detr/conditional-detr_r50_8xb2-50e_coco.py',
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
    neck=dict(in_channels=[512]),
    encoder=dict(num_layers=3),
    decoder=dict(num_layers=3),
    bbox_head=dict(num_classes=_base_.demo_num_classes),
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
