# Demo-COCO data, schedule and runtime shared by the four detector demo
# configs. Each of those inherits mmdet 3.3's own config, which already
# defines train_dataloader etc.; mmengine forbids the same key in two bases,
# so this fragment names its values `demo_*` and the detector configs assign
# them (`train_dataloader = _base_.demo_train_dataloader`). The `_delete_`
# keys make them replace mmdet's COCO settings instead of merging into them.
custom_imports = dict(
    imports=['astro_mm', 'astro_mm.compat.enable'], allow_failed_imports=False)

demo_data_root = 'data/demo_coco/'
demo_num_classes = 4
demo_image_scale = (192, 192)
# The checkpoint of configs/resnet/resnet18_1xb64-3e_demo-cifar.py: the swap.
demo_pretrained = 'work_dirs/resnet18_1xb64-3e_demo-cifar/epoch_3.pth'
# The checkpoint of configs/cds/cds_resnet18_1xb64-3e_demo-cifar.py, taken by
# the *_r18-cds_* demo detector configs (its CDS heads are not loaded).
demo_cds_pretrained = 'work_dirs/cds_resnet18_1xb64-3e_demo-cifar/epoch_3.pth'
# Normalization of that pretraining (CIFAR statistics, RGB input).
demo_data_preprocessor = dict(
    mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255])

demo_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=demo_image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
demo_train_pipeline_with_mask = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True,
         poly2mask=True),
    dict(type='Resize', scale=demo_image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
demo_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=demo_image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
demo_train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='astro_mm.CheckedCocoDataset',
        data_root=demo_data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=demo_train_pipeline))
demo_val_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='astro_mm.CheckedCocoDataset',
        data_root=demo_data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=demo_test_pipeline))
demo_val_evaluator = dict(
    _delete_=True,
    type='astro_mm.EmptySafeCocoMetric',
    ann_file=demo_data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False)

# 200 iterations of batch 2 (~1.7 epochs of 240 images): 2-4 minutes per
# detector on 2 cores (measured: 0.5-1.1 s per iteration).
demo_max_iters = 200
demo_train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=demo_max_iters,
    val_interval=demo_max_iters)
demo_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=demo_max_iters,
        milestones=[int(demo_max_iters * 0.8)],
        gamma=0.1),
]
# AdamW for the demo detectors that learn too slowly under mmdet's SGD on
# this set (the *_adamw-*i_demo-coco.py configs; curves in
# benchmarks/RESULTS.md): DETR's optimizer family, FCOS's gradient clipping.
demo_adamw_optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
# Their schedule: the same warm-up and step decay at 80 % of the run, which
# follows train_cfg.max_iters (the runner sets the decay's `end` to it), so
# each of those configs sets its length only.
demo_adamw_param_scheduler = [
    demo_param_scheduler[0],
    dict(
        type='astro_mm.ProportionalMultiStepLR',
        by_epoch=False,
        begin=0,
        milestone_ratios=[0.8],
        gamma=0.1),
]
demo_default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=demo_max_iters,
        max_keep_ckpts=1))
demo_log_processor = dict(by_epoch=False)
# tools/prune.py outputs of configs/{manet,astronet}/*_resnet18_1xb64-3e_demo-cifar.py,
# taken by the *_r18-{manet,astronet}_* demo detector configs.
demo_pruned = dict(
    manet='work_dirs/pruned/manet_resnet18_demo-cifar.pth',
    astronet='work_dirs/pruned/astronet_resnet18_demo-cifar.pth')
