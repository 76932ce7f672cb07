"""COCO metric wrapper and table summary."""
import json
from unittest.mock import patch

import pytest
import torch
from mmengine.logging import MMLogger

from astro_mm.evaluation import EmptySafeCocoMetric, summarize_metrics


def _write_coco(path):
    images = [dict(id=i, file_name=f'{i}.png', width=100, height=100)
              for i in (1, 2)]
    anns = [
        dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 40, 40],
             area=1600, iscrowd=0,
             segmentation=[[10, 10, 50, 10, 50, 50, 10, 50]]),
        dict(id=2, image_id=2, category_id=1, bbox=[20, 20, 30, 30],
             area=900, iscrowd=0,
             segmentation=[[20, 20, 50, 20, 50, 50, 20, 50]]),
    ]
    path.write_text(json.dumps(dict(
        images=images, annotations=anns,
        categories=[dict(id=1, name='box')])))


def _prediction(img_id, box, score):
    return dict(img_id=img_id, ori_shape=(100, 100), pred_instances=dict(
        bboxes=torch.tensor([box], dtype=torch.float32),
        scores=torch.tensor([score]),
        labels=torch.tensor([0])))


def test_empty_predictions_score_zero_with_a_warning(tmp_path):
    ann = tmp_path / 'ann.json'
    _write_coco(ann)
    metric = EmptySafeCocoMetric(ann_file=str(ann), metric='bbox')
    metric.dataset_meta = dict(classes=('box', ))
    empty = dict(bboxes=torch.zeros(0, 4), scores=torch.zeros(0),
                 labels=torch.zeros(0, dtype=torch.long))
    metric.process({}, [
        dict(img_id=i, ori_shape=(100, 100), pred_instances=empty)
        for i in (1, 2)
    ])
    with patch.object(MMLogger.get_current_instance(), 'warning') as warn:
        results = metric.evaluate(2)
    assert 'reported as AP 0' in warn.call_args[0][0]
    assert results['coco/bbox_mAP'] == 0.0
    assert results['coco/bbox_mAP_l'] == 0.0
    assert len([k for k in results if k.startswith('coco/bbox_')]) == 6


def test_perfect_predictions_score_full_ap(tmp_path):
    ann = tmp_path / 'ann.json'
    _write_coco(ann)
    metric = EmptySafeCocoMetric(ann_file=str(ann), metric='bbox')
    metric.dataset_meta = dict(classes=('box', ))
    metric.process({}, [
        _prediction(1, [10, 10, 50, 50], 0.9),
        _prediction(2, [20, 20, 50, 50], 0.8)
    ])
    results = metric.evaluate(2)
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    summary = summarize_metrics(results)
    assert summary['bbox']['AP'] == pytest.approx(100.0)
    assert summary['bbox']['AP_S'] == pytest.approx(100.0)  # the 30x30 box
    assert summary['bbox']['AP_L'] == -100.0  # no large object: COCO's -1


def test_summary_of_classification_and_coco():
    summary = summarize_metrics({
        'accuracy/top1': 87.5, 'coco/segm_mAP_50': 0.25,
        'coco/bbox_mAP_copypaste': '0.1 0.2'
    })
    assert summary == {'cls': {'top1': 87.5}, 'segm': {'AP50': 25.0}}
