"""Make Debian's Fashion-MNIST readable by mmpretrain's FashionMNIST class.

Debian's ``dataset-fashion-mnist`` ships the four IDX files gzipped under
/usr/share/datasets/fashion-mnist/; mmpretrain's loader reads them
decompressed from ``data_root`` (and would try to download otherwise, which
has no network here). :func:`prepare_fashion_mnist` checks each archive
against the md5 sums mmpretrain itself lists, then decompresses it,
atomically, so mmpretrain's own code reads the real data unchanged.
"""
import gzip
import hashlib
import os
import os.path as osp
import shutil
import tempfile
from typing import List

DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def prepare_fashion_mnist(dst: str = 'data/fashion_mnist',
                          src: str = DEBIAN_FASHION_MNIST) -> List[str]:
    """Decompress the Fashion-MNIST IDX archives of ``src`` into ``dst``.

    Args:
        dst (str): The ``data_root`` of the FashionMNIST configs.
        src (str): Folder with the four ``*-ubyte.gz`` files.

    Returns:
        list[str]: The decompressed files (existing ones are kept).

    Raises:
        FileNotFoundError: ``src`` lacks an archive (install Debian's
            ``dataset-fashion-mnist``, or download the four files there).
        ValueError: An archive's md5 differs from mmpretrain's reference.
    """
    from mmpretrain.datasets import FashionMNIST

    os.makedirs(dst, exist_ok=True)
    written = []
    for name, md5 in FashionMNIST.train_list + FashionMNIST.test_list:
        target = osp.join(dst, name[:-len('.gz')])
        written.append(target)
        if osp.isfile(target):
            continue
        archive = osp.join(src, name)
        if not osp.isfile(archive):
            raise FileNotFoundError(
                f'Fashion-MNIST archive {archive} not found: install Debian\'s '
                'dataset-fashion-mnist (apt-get install dataset-fashion-mnist) '
                f'or put the four *-ubyte.gz files into {src}')
        if _md5(archive) != md5:
            raise ValueError(
                f'{archive}: md5 {_md5(archive)} differs from the reference '
                f'{md5}; the file is corrupt or not Fashion-MNIST')
        fd, tmp = tempfile.mkstemp(dir=dst, suffix='.tmp')
        with os.fdopen(fd, 'wb') as out, gzip.open(archive, 'rb') as f:
            shutil.copyfileobj(f, out)
        os.replace(tmp, target)
    return written
