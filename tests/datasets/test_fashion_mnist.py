"""Real data: Debian's Fashion-MNIST through mmpretrain's own loader."""
import gzip
import os
import os.path as osp
import shutil
from unittest.mock import patch

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

from astro_mm.datasets.fashion_mnist import (DEBIAN_FASHION_MNIST,
                                             prepare_fashion_mnist)
from conftest import ROOT


def _data_promised() -> bool:
    """tools/setup_env.sh installs the data where it can: as root with apt
    (and CI=true says the environment was set up so)."""
    return os.environ.get('CI') == 'true' or (
        shutil.which('apt-get') is not None and os.geteuid() == 0)


@pytest.fixture
def debian_data():
    if not osp.isdir(DEBIAN_FASHION_MNIST):
        message = (f'{DEBIAN_FASHION_MNIST} is missing: install Debian\'s '
                   'dataset-fashion-mnist (tools/setup_env.sh does, as root '
                   'with apt)')
        if _data_promised():
            pytest.fail(message + '; the set-up promises it here')
        pytest.skip(message)
    return DEBIAN_FASHION_MNIST


def test_prepared_files_load_in_mmpretrain(tmp_path, debian_data):
    from mmpretrain.datasets import FashionMNIST
    prepare_fashion_mnist(str(tmp_path), debian_data)
    cfg = Config.fromfile(f'{ROOT}/configs/_base_/datasets/fashion_mnist.py')
    built = {}
    with patch.object(MMLogger.get_current_instance(), 'warning') as warn:
        for split in ('train', 'val'):
            kwargs = dict(cfg[f'{split}_dataloader'].dataset)
            kwargs.pop('type')
            kwargs.update(data_root=str(tmp_path), pipeline=[])
            built[split] = FashionMNIST(**kwargs)
    # the configs set split explicitly: no 'split="train" but test_mode'
    assert not [c for c in warn.call_args_list if 'split=' in str(c)]
    train, test = built['train'], built['val']
    assert (train.split, train.test_mode) == ('train', False)
    assert (test.split, test.test_mode) == ('test', True)
    assert len(train) == 60000 and len(test) == 10000
    item = train.get_data_info(0)
    assert item['img'].shape == (28, 28) and item['img'].dtype == np.uint8
    labels = np.array([train.get_data_info(i)['gt_label'] for i in range(600)])
    assert set(labels.tolist()) == set(range(10))
    assert train.metainfo['classes'][0] == 'T-shirt/top'


def test_corrupt_archive_is_refused(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
                 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'):
        with gzip.open(src / name, 'wb') as f:
            f.write(b'not fashion mnist')
    with pytest.raises(ValueError, match='train-images-idx3-ubyte.gz: content sha256'):
        prepare_fashion_mnist(str(tmp_path / 'out'), str(src))
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == []


def test_missing_archive_says_what_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match='dataset-fashion-mnist'):
        prepare_fashion_mnist(str(tmp_path / 'out'), str(tmp_path / 'none'))
