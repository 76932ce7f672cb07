"""Each of the four demo detectors, and the two DETR successors compared
with DETR on the demo set, trains and evaluates from its config."""
import json
import os.path as osp

import pytest

from conftest import demo_coco_options, read_metrics, run_tool

DETECTORS = {
    'faster_rcnn': ('configs/faster_rcnn/faster-rcnn_r18_fpn_200i_demo-coco.py',
                    ['bbox']),
    'detr': ('configs/detr/detr_r18_200i_demo-coco.py', ['bbox']),
    'condinst': ('configs/condinst/condinst_r18_fpn_200i_demo-coco.py',
                 ['bbox', 'segm']),
    'boxinst': ('configs/boxinst/boxinst_r18_fpn_200i_demo-coco.py',
                ['bbox', 'segm']),
    # DETR's successors, tried where DETR does not learn the demo set
    'dino': ('configs/dino/dino-4scale_r18_adamw-1200i_demo-coco.py',
             ['bbox']),
    'conditional_detr': (
        'configs/conditional_detr/'
        'conditional-detr_r18_adamw-1200i_demo-coco.py',
        ['bbox']),
}


@pytest.mark.parametrize('name', sorted(DETECTORS))
def test_detector_trains_and_evaluates(name, demo_root, cls_checkpoint,
                                       tmp_path):
    config, iou_types = DETECTORS[name]
    options = demo_coco_options(demo_root, iters=2) + [
        f'model.backbone.init_cfg.checkpoint={cls_checkpoint}'
    ]
    run_tool('tools/train.py', config, '--work-dir', str(tmp_path),
             '--cfg-options', *options)
    ckpt = tmp_path / 'iter_2.pth'
    assert ckpt.is_file()
    # training logged finite losses
    log = (next(tmp_path.glob('*/vis_data/scalars.json'))).read_text()
    losses = [json.loads(line)['loss'] for line in log.splitlines()
              if '"loss"' in line]
    assert losses and all(l == l and l < 1e4 for l in losses)

    proc = run_tool('tools/test.py', config, str(ckpt), '--work-dir',
                    str(tmp_path), '--cfg-options', *options)
    summary = read_metrics(tmp_path)['summary']
    for iou_type in iou_types:
        assert set(summary[iou_type]) == {
            'AP', 'AP50', 'AP75', 'AP_S', 'AP_M', 'AP_L'
        }, summary
        # pycocotools gives -1 (here -100) when it found no ground truth to
        # match: the evaluation must have seen the val set's objects
        assert summary[iou_type]['AP'] != -100.0
        assert summary[iou_type]['AP50'] != -100.0
        assert f'{iou_type}' in proc.stdout
