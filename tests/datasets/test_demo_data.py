"""Tests of the synthetic demo data generators and GeneratedCIFAR10."""
import hashlib
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from astro_mm.datasets.demo_data import coco as demo_coco
from astro_mm.datasets.demo_data import (CIFAR_CLASSES, COCO_CATEGORIES,
                                         MANIFEST_NAME, coco_area_bucket,
                                         generate_demo_cifar,
                                         generate_demo_coco)

CIFAR_KW = dict(num_train=20, num_test=10)
COCO_KW = dict(num_train=6, num_val=4)


def _file_hashes(root: Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob('*')) if p.is_file()
    }


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_cifar')
    generate_demo_cifar(root, seed=0, **CIFAR_KW)
    return root


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_coco')
    generate_demo_coco(root, seed=0, **COCO_KW)
    return root


# -- determinism and idempotence ----------------------------------------------


def test_cifar_same_seed_is_byte_identical(cifar_root, tmp_path):
    manifest = generate_demo_cifar(tmp_path / 'again', seed=0, **CIFAR_KW)
    assert _file_hashes(tmp_path / 'again') == _file_hashes(cifar_root)
    hashes = _file_hashes(cifar_root)
    # The manifest lists every file except itself, with its true hash.
    assert {k: v for k, v in hashes.items() if k != MANIFEST_NAME} \
        == manifest['files']


def test_cifar_other_seed_differs(cifar_root, tmp_path):
    other = generate_demo_cifar(tmp_path / 'seed1', seed=1, **CIFAR_KW)
    ours = json.loads((cifar_root / MANIFEST_NAME).read_text())
    for name in ('data_batch_1', 'test_batch'):
        rel = f'cifar-10-batches-py/{name}'
        assert other['files'][rel] != ours['files'][rel]


def test_coco_same_seed_identical_other_seed_differs(coco_root, tmp_path):
    generate_demo_coco(tmp_path / 'again', seed=0, **COCO_KW)
    assert _file_hashes(tmp_path / 'again') == _file_hashes(coco_root)
    other = generate_demo_coco(tmp_path / 'seed1', seed=1, **COCO_KW)
    ours = json.loads((coco_root / MANIFEST_NAME).read_text())
    for rel in ('train/train_000001.png', 'annotations/instances_val.json'):
        assert other['files'][rel] != ours['files'][rel]


def test_second_call_does_not_rewrite(tmp_path):
    root = tmp_path / 'cifar'
    first = generate_demo_cifar(root, seed=0, **CIFAR_KW)
    mtimes = {p: p.stat().st_mtime_ns for p in root.rglob('*')}
    second = generate_demo_cifar(root, seed=0, **CIFAR_KW)
    assert second == first
    assert {p: p.stat().st_mtime_ns for p in root.rglob('*')} == mtimes

    # force=True rewrites identical bytes.
    forced = generate_demo_cifar(root, seed=0, force=True, **CIFAR_KW)
    assert forced['files'] == first['files']


def test_new_parameters_regenerate_and_drop_stale_files(tmp_path):
    root = tmp_path / 'coco'
    generate_demo_coco(root, seed=0, num_train=5, num_val=3)
    assert (root / 'train/train_000005.png').exists()
    manifest = generate_demo_coco(root, seed=0, num_train=3, num_val=3)
    assert manifest['counts']['train']['images'] == 3
    assert not (root / 'train/train_000005.png').exists()
    assert sorted(p.name for p in (root / 'train').iterdir()) == [
        f'train_{i:06d}.png' for i in (1, 2, 3)
    ]


def test_interrupted_run_leaves_no_manifest_or_temp_files(
        tmp_path, monkeypatch):
    root = tmp_path / 'coco'
    generate_demo_coco(root, seed=0, num_train=3, num_val=3)
    calls = []
    real_png_bytes = demo_coco._png_bytes

    def failing_png_bytes(img):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt('simulated interruption')
        return real_png_bytes(img)

    monkeypatch.setattr(demo_coco, '_png_bytes', failing_png_bytes)
    with pytest.raises(KeyboardInterrupt):
        generate_demo_coco(root, seed=1, num_train=3, num_val=3)
    # The old manifest was removed before writing started, so the half
    # rewritten set can never be mistaken for a complete one.
    assert not (root / MANIFEST_NAME).exists()
    assert not [p for p in root.rglob('*') if '.tmp' in p.name]

    monkeypatch.setattr(demo_coco, '_png_bytes', real_png_bytes)
    manifest = generate_demo_coco(root, seed=1, num_train=3, num_val=3)
    assert manifest['seed'] == 1 and (root / MANIFEST_NAME).exists()


# -- CIFAR format -------------------------------------------------------------


def test_cifar_files_have_cifar_layout(cifar_root):
    folder = cifar_root / 'cifar-10-batches-py'
    total = 0
    for b in range(1, 6):
        entry = pickle.loads((folder / f'data_batch_{b}').read_bytes(),
                             encoding='latin1')
        assert set(entry) == {'batch_label', 'labels', 'data', 'filenames'}
        assert entry['data'].dtype == np.uint8
        assert entry['data'].shape == (len(entry['labels']), 3072)
        assert all(isinstance(x, int) for x in entry['labels'])
        total += len(entry['labels'])
    assert total == CIFAR_KW['num_train']
    meta = pickle.loads((folder / 'batches.meta').read_bytes(),
                        encoding='latin1')
    assert meta['label_names'] == list(CIFAR_CLASSES)
    assert meta['num_vis'] == 3072


def test_cifar_classes_are_balanced(tmp_path):
    manifest = generate_demo_cifar(tmp_path, num_train=50, num_test=30)
    assert manifest['counts']['train_per_class'] == [5] * 10
    assert manifest['counts']['test_per_class'] == [3] * 10


# -- COCO format --------------------------------------------------------------


def _coco_api(coco_root, split):
    from pycocotools.coco import COCO
    return COCO(str(coco_root / f'annotations/instances_{split}.json'))


@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_polygons_match_area_and_bbox(coco_root, split):
    from pycocotools import mask as mask_utils
    coco = _coco_api(coco_root, split)
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] \
        == list(COCO_CATEGORIES)
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= COCO_KW['num_train' if split == 'train' else
                                'num_val']
    for ann in anns:
        img = coco.loadImgs(ann['image_id'])[0]
        h, w = img['height'], img['width']
        assert (coco_root / split / img['file_name']).is_file()
        rle = mask_utils.merge(
            mask_utils.frPyObjects(ann['segmentation'], h, w))
        raster_area = float(mask_utils.area(rle))
        x, y, bw, bh = ann['bbox']
        # Rasterisation differs from the exact polygon area by about half
        # the perimeter's pixels at most.
        tolerance = max(0.12 * ann['area'], (bw + bh) * 1.0)
        assert abs(raster_area - ann['area']) <= tolerance, ann['id']

        mask = mask_utils.decode(rle)
        ys, xs = np.nonzero(mask)
        assert xs.min() >= x - 1 and xs.max() + 1 <= x + bw + 1
        assert ys.min() >= y - 1 and ys.max() + 1 <= y + bh + 1
        assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h
        assert ann['iscrowd'] == 0 and bw > 0 and bh > 0


def test_ring_polygon_rasterises_with_a_hole(coco_root):
    from pycocotools import mask as mask_utils
    coco = _coco_api(coco_root, 'train')
    ring_id = COCO_CATEGORIES.index('ring') + 1
    rings = coco.loadAnns(coco.getAnnIds(catIds=[ring_id]))
    assert rings, 'the fixture set should contain rings'
    for ann in rings:
        img = coco.loadImgs(ann['image_id'])[0]
        rle = mask_utils.merge(
            mask_utils.frPyObjects(ann['segmentation'], img['height'],
                                   img['width']))
        mask = mask_utils.decode(rle)
        x, y, bw, bh = ann['bbox']
        cx, cy = int(x + bw / 2), int(y + bh / 2)
        assert mask[cy, cx] == 0  # the centre is in the hole
        assert ann['area'] < 0.8 * np.pi * (bw / 2) * (bh / 2)


@pytest.mark.parametrize('category', COCO_CATEGORIES)
def test_painted_pixels_match_annotation_polygon(category):
    """The pixels the generator paints (coverage >= 0.5) agree with
    pycocotools' rasterisation of the annotation polygon."""
    from pycocotools import mask as mask_utils
    size = (192, 192)
    rng = np.random.default_rng(0)
    for bucket in ('small', 'medium', 'large'):
        for _ in range(3):
            shape = demo_coco._place(
                rng, demo_coco._sample_shape(rng, category, bucket, size),
                size)
            painted = demo_coco._coverage(shape.fill, shape.holes,
                                          size) >= 0.5
            polygon = np.round(shape.outline, 2).reshape(-1).tolist()
            annotated = mask_utils.decode(
                mask_utils.merge(mask_utils.frPyObjects([polygon], *size)))
            annotated = annotated.astype(bool)
            iou = (painted & annotated).sum() / (painted | annotated).sum()
            assert iou > (0.75 if bucket == 'small' else 0.93), \
                (category, bucket, iou)


@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_has_all_size_buckets(coco_root, split):
    coco = json.loads(
        (coco_root / f'annotations/instances_{split}.json').read_text())
    buckets = {coco_area_bucket(a['area']) for a in coco['annotations']}
    assert buckets == {'small', 'medium', 'large'}
    manifest = json.loads((coco_root / MANIFEST_NAME).read_text())
    assert all(v > 0
               for v in manifest['counts'][split]['area_buckets'].values())


def test_coco_rejects_sizes_that_cannot_hold_all_buckets(tmp_path):
    with pytest.raises(ValueError, match='image_size'):
        generate_demo_coco(tmp_path, num_train=3, num_val=3,
                           image_size=(64, 64))
    with pytest.raises(ValueError, match='>= 3'):
        generate_demo_coco(tmp_path, num_train=2, num_val=3)


# -- GeneratedCIFAR10 ---------------------------------------------------------


def _build_cifar(root, split='train', **kwargs):
    from astro_mm.registry import DATASETS
    return DATASETS.build(
        dict(type='astro_mm.GeneratedCIFAR10', data_root=str(root), split=split,
             **kwargs))


def test_generated_cifar_reads_generated_set(cifar_root):
    import astro_mm.datasets  # noqa: F401  registers the dataset
    train = _build_cifar(cifar_root, 'train')
    test = _build_cifar(cifar_root, 'test')
    assert len(train) == CIFAR_KW['num_train']
    assert len(test) == CIFAR_KW['num_test']
    assert train.metainfo['classes'] == CIFAR_CLASSES

    entry = pickle.loads(
        (cifar_root / 'cifar-10-batches-py/data_batch_1').read_bytes(),
        encoding='latin1')
    first = train.get_data_info(0)
    assert first['img'].shape == (32, 32, 3)
    assert first['img'].dtype == np.uint8
    # Channel-planar rows become HWC images.
    np.testing.assert_array_equal(
        first['img'], entry['data'][0].reshape(3, 32, 32).transpose(1, 2, 0))
    labels = [train.get_data_info(i)['gt_label'] for i in range(len(train))]
    assert labels[:len(entry['labels'])] == entry['labels']
    assert set(labels) <= set(range(10))


def test_generated_cifar_respects_metainfo_classes(cifar_root):
    import astro_mm.datasets  # noqa: F401
    names = tuple(f'c{i}' for i in range(10))
    ds = _build_cifar(cifar_root, metainfo=dict(classes=names))
    assert ds.metainfo['classes'] == names


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_generated_cifar_detects_modified_file(cifar_root, tmp_path):
    import astro_mm.datasets  # noqa: F401
    root = _copy(cifar_root, tmp_path / 'copy')
    path = root / 'cifar-10-batches-py/data_batch_3'
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError) as err:
        _build_cifar(root)
    assert 'data_batch_3' in str(err.value)
    assert 'sha256' in str(err.value)
    assert 'python tools/generate_demo_data.py --force' in str(err.value)


def test_generated_cifar_detects_missing_file(cifar_root, tmp_path):
    import astro_mm.datasets  # noqa: F401
    root = _copy(cifar_root, tmp_path / 'copy')
    (root / 'cifar-10-batches-py/batches.meta').unlink()
    with pytest.raises(RuntimeError, match=r'batches\.meta is missing'):
        _build_cifar(root, 'test')


def test_generated_cifar_without_manifest_uses_official_md5(
        cifar_root, tmp_path):
    import astro_mm.datasets  # noqa: F401
    root = _copy(cifar_root, tmp_path / 'copy')
    (root / MANIFEST_NAME).unlink()
    # Without a manifest the files are held to CIFAR-10's md5 sums, which
    # generated data cannot match; download=False, so nothing is fetched.
    with pytest.raises(RuntimeError, match='Cannot find GeneratedCIFAR10') \
            as err:
        _build_cifar(root)
    assert 'python tools/generate_demo_data.py' in str(err.value)
    assert 'download=True' not in str(err.value)


def test_train_before_the_demo_data_exists_names_the_generator(tmp_path):
    """tools/train.py on a demo config with no data: the command that makes
    it, not mmpretrain's advice to download (nothing can be)."""
    from conftest import run_tool
    missing = tmp_path / 'demo_cifar'
    proc = run_tool(
        'tools/train.py', 'configs/resnet/resnet18_1xb64-3e_demo-cifar.py',
        '--work-dir', str(tmp_path / 'work'), '--cfg-options',
        f'train_dataloader.dataset.data_root={missing}',
        f'val_dataloader.dataset.data_root={missing}',
        f'test_dataloader.dataset.data_root={missing}', check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f'Cannot find GeneratedCIFAR10 data in {missing}' in output
    assert 'run python tools/generate_demo_data.py' in output
    assert 'download=True' not in output


def test_missing_demo_coco_names_the_generator(tmp_path):
    from astro_mm.registry import DATASETS
    ann = tmp_path / 'demo_coco' / 'annotations' / 'instances_train.json'
    with pytest.raises(FileNotFoundError,
                       match=r'instances_train\.json is missing .*generate '
                       r'the demo set with python tools/generate_demo_data'):
        DATASETS.build(dict(type='astro_mm.CheckedCocoDataset',
                            ann_file=str(ann), pipeline=[]))


def test_cifar_class_subset_is_labelled_in_the_given_order(tmp_path):
    manifest = generate_demo_cifar(tmp_path, num_train=8, num_test=4,
                                   classes=('v_stripes', 'circle'))
    assert manifest['classes'] == ['v_stripes', 'circle']
    assert manifest['counts']['train_per_class'] == [4, 4]
    folder = tmp_path / 'cifar-10-batches-py'
    with open(folder / 'batches.meta', 'rb') as f:
        assert pickle.load(f)['label_names'] == ['v_stripes', 'circle']
    with open(folder / 'data_batch_1', 'rb') as f:
        batch = pickle.load(f, encoding='latin1')
    for label, name in zip(batch['labels'], batch['filenames']):
        assert name.startswith(('v_stripes', 'circle')[label])


def test_cifar_class_subset_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match='zebra'):
        generate_demo_cifar(tmp_path, num_train=4, num_test=2,
                            classes=('circle', 'zebra'))


def test_demo_data_imports_no_torch_and_no_openmmlab_package():
    """The generators, the package files above them and
    tools/generate_demo_data.py (which imports them as a package) import
    numpy and Pillow only: the demo data can be made before the stack is
    installed."""
    from conftest import ROOT
    for load in ('import astro_mm.datasets.demo_data',
                 'import runpy; runpy.run_path("tools/generate_demo_data.py")'):
        code = (f'import sys\n{load}\n'
                'print(sorted(name for name in sys.modules if name.split(".")'
                '[0] in ("torch", "mmengine", "mmcv", "mmdet", "mmpretrain")))')
        proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        assert proc.stdout.strip() == '[]', (load, proc.stdout)
