"""COCO files from the wild: annotation ids from 0 and a ``_background_``
category are repaired (or refused) alike by the dataset and the metric, so
ground truth evaluated against itself scores AP = 1.0."""
import json
from unittest.mock import patch

import numpy as np
import pytest
import torch
from PIL import Image

from astro_mm.datasets.coco_repair import (UnsafeCocoAnnotationsError,
                                           repair_coco_annotations)

SIZE = 64
# (image_id, category_id, bbox): category 0 is the exported background
BOXES = [(1, 1, [4, 4, 20, 20]), (1, 2, [30, 30, 24, 20]),
         (2, 2, [8, 10, 30, 30]), (2, 1, [40, 6, 16, 16]),
         (2, 0, [0, 0, 64, 64])]


def _trap_dataset():
    images = [dict(id=i, file_name=f'{i}.png', width=SIZE, height=SIZE)
              for i in (1, 2)]
    anns = [dict(id=ann_id, image_id=img, category_id=cat, bbox=box,
                 area=box[2] * box[3], iscrowd=0)
            for ann_id, (img, cat, box) in enumerate(BOXES)]  # ids from 0
    cats = [dict(id=0, name='_background_'), dict(id=1, name='square'),
            dict(id=2, name='disk')]
    return dict(images=images, annotations=anns, categories=cats)


@pytest.fixture
def trap_file(tmp_path):
    for i in (1, 2):
        Image.fromarray(np.zeros((SIZE, SIZE, 3), np.uint8)).save(
            tmp_path / f'{i}.png')
    path = tmp_path / 'labelme_export.json'
    path.write_text(json.dumps(_trap_dataset()))
    return path


def _dataset(ann_file, **kwargs):
    from astro_mm.registry import DATASETS
    return DATASETS.build(
        dict(type='astro_mm.CheckedCocoDataset', ann_file=str(ann_file),
             data_prefix=dict(img=str(ann_file.parent) + '/'), pipeline=[],
             **kwargs))


def test_pycocotools_scores_the_raw_file_below_one(trap_file):
    """Without the repair the same perfect detections lose AP: the trap is
    real, so the test below could fail."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO(str(trap_file))
    dets = [dict(image_id=a['image_id'], category_id=a['category_id'],
                 bbox=a['bbox'], score=1.0)
            for a in gt.dataset['annotations'] if a['category_id'] != 0]
    evaluator = COCOeval(gt, gt.loadRes(dets), 'bbox')
    evaluator.params.catIds = [1, 2]  # not even the background's fault
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] < 0.99


def test_dataset_and_metric_repair_alike_and_score_ap_one(trap_file):
    from astro_mm.evaluation import EmptySafeCocoMetric
    with patch('astro_mm.datasets.coco_repair.print_log') as log:
        ds = _dataset(trap_file)
        metric = EmptySafeCocoMetric(ann_file=str(trap_file), metric='bbox')
    warnings = [c.args[0] for c in log.call_args_list]
    assert len(warnings) == 2  # one per reader, each naming file and change
    for text in warnings:
        assert str(trap_file) in text
        assert "background category ['_background_']" in text
        assert 'renumbered the 4 annotation ids 1..4' in text
    assert ds.metainfo['classes'] == ('square', 'disk')

    metric.dataset_meta = ds.metainfo
    labels = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        instances = info['instances']
        bboxes = torch.tensor([inst['bbox'] for inst in instances])
        label = torch.tensor([inst['bbox_label'] for inst in instances])
        labels += label.tolist()
        metric.process({}, [dict(
            img_id=info['img_id'], ori_shape=(SIZE, SIZE),
            pred_instances=dict(bboxes=bboxes, labels=label,
                                scores=torch.ones(len(label))))])
    # category 1 'square' -> label 0, category 2 'disk' -> label 1
    assert sorted(labels) == [0, 0, 1, 1]
    results = metric.evaluate(len(ds))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/bbox_mAP_50'] == pytest.approx(1.0)


def test_refuse_mode_names_file_and_fix(trap_file):
    from astro_mm.evaluation import EmptySafeCocoMetric
    for build in (lambda: _dataset(trap_file, fix_annotations=False),
                  lambda: EmptySafeCocoMetric(ann_file=str(trap_file),
                                              fix_annotations=False)):
        with pytest.raises(UnsafeCocoAnnotationsError) as err:
            build()
        message = str(err.value)
        assert message.startswith(str(trap_file))
        assert 'renumber the annotation ids from 1' in message
        assert "background category ['_background_']" in message
        assert 'fix_annotations=True' in message


def test_clean_file_is_left_alone():
    dataset = _trap_dataset()
    dataset['categories'] = dataset['categories'][1:]
    dataset['annotations'] = [
        dict(a, id=a['id'] + 1) for a in dataset['annotations']
        if a['category_id']
    ]
    before = json.dumps(dataset)
    for fix in (True, False):
        repaired, changes = repair_coco_annotations(dataset, 'x.json', fix)
        assert changes == [] and json.dumps(repaired) == before


def test_only_background_dropped_when_ids_are_fine():
    dataset = _trap_dataset()
    for ann in dataset['annotations']:
        ann['id'] += 10
    repaired, changes = repair_coco_annotations(dataset, 'x.json')
    assert len(changes) == 1 and 'background' in changes[0]
    assert [a['id'] for a in repaired['annotations']] == [10, 11, 12, 13]
    assert [c['id'] for c in repaired['categories']] == [1, 2]


def test_metainfo_class_missing_from_file_is_refused(trap_file):
    with pytest.raises(ValueError, match=r"metainfo classes \['_background_'\]"
                       r' are not categories of the file'):
        _dataset(trap_file,
                 metainfo=dict(classes=('_background_', 'square', 'disk')))
