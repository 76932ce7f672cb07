"""Make Debian's Fashion-MNIST readable by mmpretrain's FashionMNIST class.

Debian's ``dataset-fashion-mnist`` ships the four IDX files gzipped under
/usr/share/datasets/fashion-mnist/; mmpretrain's loader reads them
decompressed from ``data_root`` (and would try to download otherwise, which
has no network here). :func:`prepare_fashion_mnist` decompresses each
archive, checks the content's sha256, and moves it into place atomically, so
mmpretrain's own code reads the real data unchanged.
"""
import gzip
import hashlib
import os
import os.path as osp
import tempfile
from typing import List

DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
# sha256 of the decompressed IDX files. Debian recompresses the archives, so
# their md5 differs from the upstream .gz sums mmpretrain lists while the
# content is the same; the content is what is checked (an upstream .gz that
# matches mmpretrain's md5 is accepted too).
IDX_SHA256 = {
    'train-images-idx3-ubyte':
    'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    'train-labels-idx1-ubyte':
    'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    't10k-images-idx3-ubyte':
    '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    't10k-labels-idx1-ubyte':
    '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
}


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
        ValueError: An archive's content is not Fashion-MNIST's.
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
        fd, tmp = tempfile.mkstemp(dir=dst, suffix='.tmp')
        digest = hashlib.sha256()
        with os.fdopen(fd, 'wb') as out, gzip.open(archive, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                digest.update(chunk)
                out.write(chunk)
        expected = IDX_SHA256[osp.basename(target)]
        if digest.hexdigest() != expected and _md5(archive) != md5:
            os.unlink(tmp)
            raise ValueError(
                f'{archive}: content sha256 {digest.hexdigest()} differs from '
                f'Fashion-MNIST\'s {expected}; the file is corrupt or not '
                'Fashion-MNIST')
        os.replace(tmp, target)
    return written
