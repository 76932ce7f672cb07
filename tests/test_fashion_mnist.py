"""Real data: Debian's Fashion-MNIST through mmpretrain's own loader."""
import gzip
import os.path as osp

import numpy as np
import pytest

from astro_mm.datasets.fashion_mnist import (DEBIAN_FASHION_MNIST,
                                             prepare_fashion_mnist)

needs_data = pytest.mark.skipif(
    not osp.isdir(DEBIAN_FASHION_MNIST),
    reason='Debian package dataset-fashion-mnist is not installed')


@needs_data
def test_prepared_files_load_in_mmpretrain(tmp_path):
    from mmpretrain.datasets import FashionMNIST
    prepare_fashion_mnist(str(tmp_path))
    train = FashionMNIST(data_root=str(tmp_path), test_mode=False,
                         download=False)
    test = FashionMNIST(data_root=str(tmp_path), test_mode=True,
                        download=False)
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
