"""Tests of CheckedCocoDataset's validation and class handling."""
import json
import shutil

import pytest

from astro_mm.datasets.demo_data import COCO_CATEGORIES, generate_demo_coco

NUM_TRAIN, NUM_VAL = 5, 3


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_coco')
    generate_demo_coco(root, num_train=NUM_TRAIN, num_val=NUM_VAL, seed=0)
    return root


def _build(ann_file, img_dir, **kwargs):
    import astro_mm.datasets  # noqa: F401  registers the dataset
    from astro_mm.registry import DATASETS
    return DATASETS.build(
        dict(type='astro_mm.CheckedCocoDataset', ann_file=str(ann_file),
             data_prefix=dict(img=str(img_dir) + '/'), pipeline=[],
             **kwargs))


def _train_json(coco_root):
    return json.loads(
        (coco_root / 'annotations/instances_train.json').read_text())


def test_loads_demo_set_with_classes_from_file(coco_root):
    import astro_mm.datasets  # noqa: F401
    from astro_mm.registry import DATASETS
    ds = DATASETS.build(
        dict(type='astro_mm.CheckedCocoDataset', data_root=str(coco_root),
             ann_file='annotations/instances_train.json',
             data_prefix=dict(img='train/'), pipeline=[]))
    assert len(ds) == NUM_TRAIN
    assert ds.metainfo['classes'] == COCO_CATEGORIES
    assert len(ds.metainfo['palette']) == len(COCO_CATEGORIES)

    raw = _train_json(coco_root)
    instances = [inst for i in range(len(ds))
                 for inst in ds.get_data_info(i)['instances']]
    assert len(instances) == len(raw['annotations'])
    # Labels follow the file's categories: category_id k -> label k - 1.
    expected = sorted(a['category_id'] - 1 for a in raw['annotations'])
    assert sorted(inst['bbox_label'] for inst in instances) == expected
    assert all(inst['mask'] and len(inst['mask'][0]) >= 6
               for inst in instances)


def test_metainfo_classes_take_precedence(coco_root):
    ds = _build(coco_root / 'annotations/instances_val.json',
                coco_root / 'val', metainfo=dict(classes=('disk', 'ring')))
    assert ds.metainfo['classes'] == ('disk', 'ring')
    raw = json.loads(
        (coco_root / 'annotations/instances_val.json').read_text())
    kept = sum(a['category_id'] in (1, 4) for a in raw['annotations'])
    labels = [inst['bbox_label'] for i in range(len(ds))
              for inst in ds.get_data_info(i)['instances']]
    assert len(labels) == kept and set(labels) <= {0, 1}


def _set_image_id(data):
    data['annotations'][2]['image_id'] = 999
    return 'image_id=999'


def _set_category_id(data):
    data['annotations'][1]['category_id'] = 42
    return 'category_id=42'


def _move_bbox_outside(data):
    ann = data['annotations'][0]
    img = next(i for i in data['images'] if i['id'] == ann['image_id'])
    ann['bbox'][0] = img['width'] - ann['bbox'][2] + 5
    return 'outside'


def _zero_bbox_width(data):
    data['annotations'][0]['bbox'][2] = 0
    return 'non-positive'


@pytest.mark.parametrize('corrupt', [
    _set_image_id, _set_category_id, _move_bbox_outside, _zero_bbox_width
])
def test_corrupted_annotations_raise_naming_file_and_problem(
        coco_root, tmp_path, corrupt):
    data = _train_json(coco_root)
    expected = corrupt(data)
    ann_file = tmp_path / f'bad_{corrupt.__name__}.json'
    ann_file.write_text(json.dumps(data))
    with pytest.raises(ValueError) as err:
        _build(ann_file, coco_root / 'train')
    message = str(err.value)
    assert ann_file.name in message
    assert expected in message
    assert 'annotation id=' in message


def test_missing_image_files_are_reported_together(coco_root, tmp_path):
    img_dir = tmp_path / 'train'
    shutil.copytree(coco_root / 'train', img_dir)
    (img_dir / 'train_000002.png').unlink()
    (img_dir / 'train_000004.png').unlink()
    ann_file = coco_root / 'annotations/instances_train.json'
    with pytest.raises(FileNotFoundError) as err:
        _build(ann_file, img_dir)
    message = str(err.value)
    assert 'instances_train.json' in message and 'missing' in message
    assert f'2 of {NUM_TRAIN}' in message
    assert 'train_000002.png' in message and 'train_000004.png' in message


def test_missing_annotation_file(coco_root, tmp_path):
    ann_file = tmp_path / 'no_such_file.json'
    with pytest.raises(FileNotFoundError, match='no_such_file.json.*missing'):
        _build(ann_file, coco_root / 'train')


def test_invalid_json_names_the_file(coco_root, tmp_path):
    ann_file = tmp_path / 'truncated.json'
    text = (coco_root / 'annotations/instances_train.json').read_text()
    ann_file.write_text(text[:len(text) // 2])
    with pytest.raises(ValueError, match='truncated.json.*not a valid JSON'):
        _build(ann_file, coco_root / 'train')
