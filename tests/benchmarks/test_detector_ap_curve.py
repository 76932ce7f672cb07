"""benchmarks/detector_ap_curve.py reads the AP of every evaluation back in
order, takes a variant config for one detector only and can train and
evaluate on the same first training images (--overfit); the demo
detectors' AdamW variants change what their docstrings say; the mask probe
refuses a missing file (no training here: the curves are in
benchmarks/RESULTS.md)."""
import json
import os.path as osp

import pytest

from astro_mm.analysis.detector_ap_curve import (overfit_options, read_curve,
                                                 step_decay_options)
from conftest import ROOT, run_tool

ADAMW_CONDINST = 'configs/condinst/condinst_r18_fpn_adamw-800i_demo-coco.py'


def step_decays(cfg) -> list:
    """The iterations at which the config's lr steps down, its schedulers
    built as mmengine's runner builds them (``end`` defaults to
    ``max_iters``)."""
    import torch
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS
    import astro_mm  # noqa: F401
    max_iters = cfg.train_cfg.max_iters
    wrapper = OptimWrapper(torch.optim.SGD(torch.nn.Linear(1, 1).parameters(),
                                           lr=1.0))
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, end=s.get('end', max_iters)),
                               default_args=dict(optimizer=wrapper))
        for s in cfg.param_scheduler
    ]
    decays, previous = [], None
    for it in range(max_iters):
        lr = wrapper.get_lr()['lr'][0]
        if previous is not None and lr < previous:
            decays.append(it)
        previous = lr
        for scheduler in schedulers:
            scheduler.step()
    return decays


def test_curve_numbers_evaluations_by_their_order(tmp_path):
    run = tmp_path / '20261203_000000' / 'vis_data'
    run.mkdir(parents=True)
    records = [
        dict(loss=1.0, iter=10),
        {'coco/segm_mAP': 0.008, 'coco/bbox_mAP': 0.044, 'step': 0},
        dict(loss=0.5, iter=20),
        {'coco/segm_mAP': 0.062, 'coco/bbox_mAP': 0.094, 'step': 0},
    ]
    (run / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in records))
    assert read_curve(str(tmp_path), 'segm', 200) == {
        200: 0.8, 400: 6.2}
    assert read_curve(str(tmp_path), 'bbox', 200) == {
        200: 4.4, 400: 9.4}


def test_a_variant_config_names_one_detector():
    proc = run_tool('benchmarks/detector_ap_curve.py', '--detectors',
                    'condinst', 'boxinst', '--config', ADAMW_CONDINST,
                    check=False)
    assert proc.returncode == 2  # argparse's error
    assert 'exactly one' in proc.stderr
    proc = run_tool('benchmarks/detector_ap_curve.py', '--detectors',
                    'condinst', '--config', 'configs/condinst/missing.py',
                    check=False)
    assert proc.returncode == 2
    assert 'no such file configs/condinst/missing.py' in proc.stderr


def test_curve_moves_only_a_fixed_step_decay():
    """The SGD demo configs' decay (fixed at 160 of 200) is moved to 80 %
    of the run; the AdamW configs' decay follows max_iters by itself."""
    sgd = 'configs/condinst/condinst_r18_fpn_200i_demo-coco.py'
    assert step_decay_options(osp.join(ROOT, sgd), 600) == [
        'param_scheduler.1.end=600', 'param_scheduler.1.milestones=[480]']
    assert step_decay_options(
        osp.join(ROOT, ADAMW_CONDINST), 600) == []


def test_overfit_trains_and_evaluates_on_the_same_first_images(tmp_path):
    root = tmp_path / 'demo_coco'
    (root / 'annotations').mkdir(parents=True)
    coco = dict(
        images=[dict(id=i, file_name=f'{i}.png', width=8, height=8)
                for i in (3, 1, 2)],
        annotations=[dict(id=10 + i, image_id=i, category_id=1,
                          bbox=[0, 0, 4, 4], area=16, iscrowd=0)
                     for i in (1, 2, 3, 3)],
        categories=[dict(id=1, name='disk')])
    (root / 'annotations' / 'instances_train.json').write_text(
        json.dumps(coco))
    config = tmp_path / 'detector.py'
    config.write_text(
        f'train_dataloader = dict(dataset=dict(data_root="{root}/", '
        'ann_file="annotations/instances_train.json", '
        'data_prefix=dict(img="train/")))\n')
    options = overfit_options(str(config), str(tmp_path / 'run'), 2)
    subset_file = str(tmp_path / 'run' / 'instances_train_first2.json')
    assert options == [
        f'train_dataloader.dataset.ann_file={subset_file}',
        f'val_dataloader.dataset.ann_file={subset_file}',
        'val_dataloader.dataset.data_prefix.img=train/',
        f'val_evaluator.ann_file={subset_file}']
    subset = json.loads(open(subset_file).read())
    assert [image['id'] for image in subset['images']] == [1, 2]
    assert sorted(a['id'] for a in subset['annotations']) == [11, 12]
    with pytest.raises(
            ValueError,
            match='--overfit 4: .* has 3 training images; give 1 to 3'):
        overfit_options(str(config), str(tmp_path / 'run'), 4)


def test_adamw_variants_change_only_optimizer_and_length():
    from mmengine.config import Config
    for detector, iters in (('condinst', 800), ('boxinst', 400)):
        base = Config.fromfile(osp.join(
            ROOT, f'configs/{detector}/{detector}_r18_fpn_200i_demo-coco.py'))
        variant = Config.fromfile(osp.join(
            ROOT, f'configs/{detector}/{detector}_r18_fpn_adamw-{iters}i'
            '_demo-coco.py'))
        assert variant.optim_wrapper.optimizer == dict(
            type='AdamW', lr=1e-4, weight_decay=0.05)
        assert variant.train_cfg.max_iters == iters
        assert step_decays(variant) == [int(iters * 0.8)]
        assert variant.default_hooks.checkpoint.interval == iters
        assert variant.model.to_dict() == base.model.to_dict()
        assert variant.train_dataloader.to_dict() == \
            base.train_dataloader.to_dict()


def test_boxinst_mask_path_trains_at_a_tenth_of_the_rate():
    """The dynamic mask path (controller + mask head) gets lr 1e-5, every
    other parameter AdamW's 1e-4; nothing else differs from the AdamW
    BoxInst config but the length."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS
    import astro_mm  # noqa: F401
    base = Config.fromfile(osp.join(
        ROOT, 'configs/boxinst/boxinst_r18_fpn_adamw-400i_demo-coco.py'))
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs/boxinst/boxinst_r18_fpn_adamw-masklr0.1-1200i'
        '_demo-coco.py'))
    assert cfg.model.to_dict() == base.model.to_dict()
    assert cfg.train_cfg.max_iters == 1200
    assert step_decays(cfg) == [960]
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    lr_of = {}
    for group in optimizer.param_groups:
        for param in group['params']:
            lr_of[id(param)] = group['lr']
    slow = fast = 0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        expected = 1e-5 if name.startswith(
            ('bbox_head.controller.', 'mask_head.')) else 1e-4
        assert lr_of[id(param)] == pytest.approx(expected), name
        slow += expected == 1e-5
        fast += expected == 1e-4
    assert slow >= 3 and fast > slow


def test_instance_mask_probe_names_a_missing_file():
    proc = run_tool('benchmarks/instance_mask_probe.py', ADAMW_CONDINST,
                    'work_dirs/missing/iter_800.pth', check=False)
    assert proc.returncode == 2  # argparse's error
    assert 'no such file work_dirs/missing/iter_800.pth' in proc.stderr
