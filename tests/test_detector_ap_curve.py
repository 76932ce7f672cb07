"""benchmarks/detector_ap_curve.py reads the AP of every evaluation back in
order and takes a variant config for one detector only (no training here:
its curves are in benchmarks/RESULTS.md)."""
import importlib.util
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ADAMW_CONDINST = 'configs/condinst/condinst_r18_fpn_adamw-800i_demo-coco.py'


@pytest.fixture(scope='module')
def ap_curve():
    spec = importlib.util.spec_from_file_location(
        'detector_ap_curve',
        osp.join(ROOT, 'benchmarks', 'detector_ap_curve.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_curve_numbers_evaluations_by_their_order(ap_curve, tmp_path):
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
    assert ap_curve.read_curve(str(tmp_path), 'segm', 200) == {
        200: 0.8, 400: 6.2}
    assert ap_curve.read_curve(str(tmp_path), 'bbox', 200) == {
        200: 4.4, 400: 9.4}


def test_a_variant_config_names_one_detector(ap_curve, capsys):
    with pytest.raises(SystemExit):
        ap_curve.main(['--detectors', 'condinst', 'boxinst',
                       '--config', ADAMW_CONDINST])
    assert 'exactly one' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ap_curve.main(['--detectors', 'condinst',
                       '--config', 'configs/condinst/missing.py'])
    assert 'no such file configs/condinst/missing.py' in \
        capsys.readouterr().err


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
        assert variant.param_scheduler[1].milestones == [int(iters * 0.8)]
        assert variant.default_hooks.checkpoint.interval == iters
        assert variant.model.to_dict() == base.model.to_dict()
        assert variant.train_dataloader.to_dict() == \
            base.train_dataloader.to_dict()
