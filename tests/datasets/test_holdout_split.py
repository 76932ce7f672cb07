"""A validation split carved from the training set (astro_mm.HoldOutSubset)
and tools/test.py --split val, which evaluates on it: the parts are
disjoint and together the whole set, the same seed gives the same split,
and the test tool really reads the validation data when asked."""
import json

import pytest
from torch.utils.data import Dataset

from astro_mm.datasets import HoldOutSubset
from conftest import PRETRAIN_CONFIG, ROOT, run_tool


class Numbers(Dataset):
    def __init__(self, size):
        self.size = size
        self.metainfo = dict(classes=('n', ))

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        return index


def _items(subset):
    return [subset[i] for i in range(len(subset))]


def test_the_parts_are_disjoint_and_make_the_whole_set():
    data = Numbers(100)
    fit = _items(HoldOutSubset(data, 'fit', holdout=20, seed=3))
    held = _items(HoldOutSubset(data, 'holdout', holdout=20, seed=3))
    assert len(held) == 20 and len(fit) == 80
    assert not set(fit) & set(held)
    assert sorted(fit + held) == list(range(100))
    # a random share, not the first or last samples
    assert held != list(range(20)) and held != list(range(80, 100))
    assert HoldOutSubset(data, 'fit', 20, 3).metainfo == data.metainfo


def test_the_seed_fixes_the_split():
    data = Numbers(100)
    first = _items(HoldOutSubset(data, 'holdout', 20, seed=0))
    assert first == _items(HoldOutSubset(data, 'holdout', 20, seed=0))
    assert first != _items(HoldOutSubset(data, 'holdout', 20, seed=1))


def test_bad_parts_and_sizes_name_the_key():
    with pytest.raises(ValueError, match="part must be one of"):
        HoldOutSubset(Numbers(10), 'val', holdout=2)
    with pytest.raises(ValueError, match='holdout must be between 1 and 9'):
        HoldOutSubset(Numbers(10), 'fit', holdout=10)


def test_test_tool_evaluates_the_validation_split_when_asked(
        demo_root, cls_checkpoint, tmp_path):
    """One held-out image: its top-1 can only be 0 or 100, which the 64
    test images' top-1 after one epoch is not."""
    data = demo_root / 'demo_cifar'
    config = tmp_path / 'holdout.py'
    config.write_text(
        f"_base_ = '{ROOT}/{PRETRAIN_CONFIG}'\n"
        "val_dataloader = dict(dataset=dict(_delete_=True, "
        "type='astro_mm.HoldOutSubset', part='holdout', holdout=1, "
        f"dataset=dict(type='astro_mm.GeneratedCIFAR10', data_root='{data}',"
        " split='train', pipeline=[dict(type='PackInputs')])))\n"
        f"test_dataloader = dict(dataset=dict(data_root='{data}'))\n")
    tops = {}
    for split in ('val', 'test'):
        work = tmp_path / split
        run_tool('tools/test.py', str(config), cls_checkpoint, '--work-dir',
                 str(work), '--split', split)
        record = json.loads((work / 'metrics.json').read_text())
        assert record['split'] == split
        tops[split] = record['summary']['cls']['top1']
    assert tops['val'] in (0.0, 100.0)
    assert tops['test'] not in (0.0, 100.0)


def test_split_val_without_validation_data_names_the_key(tmp_path):
    from astro_mm.apis import use_validation_split
    from mmengine.config import Config
    cfg = Config(dict(test_dataloader=dict(batch_size=1)))
    with pytest.raises(KeyError, match='has no val_dataloader or '
                       'val_evaluator'):
        use_validation_split(cfg, 'x.py')
