"""CIFAR-10 reader that accepts astro_mm's generated demo set.

mmpretrain's :class:`~mmpretrain.datasets.CIFAR10` verifies the official md5
sums, which generated files cannot match, and answers a failed check by
downloading the real CIFAR-10 over the generated set. This subclass keeps
mmpretrain's loading code and swaps only the integrity check: files are
verified against the sha256 sums in the generator's manifest when there is
one, and against the official md5 sums otherwise.
"""
import hashlib
import json
from typing import List, Optional

from mmengine.fileio import exists, get, get_text, join_path
from mmpretrain.datasets import CIFAR10

from astro_mm.registry import DATASETS
from .demo_data import MANIFEST_NAME

REGENERATE_HINT = 'regenerate with python tools/generate_demo_data.py --force'
GENERATE_HINT = (
    'for the demo set run python tools/generate_demo_data.py (writes '
    'data/demo_cifar and data/demo_coco; --out DIR for another folder); '
    'for the real CIFAR-10 put its python version (cifar-10-batches-py) '
    'there. Nothing is downloaded (download=False)')


@DATASETS.register_module()
class GeneratedCIFAR10(CIFAR10):
    """CIFAR-10-format dataset checked against an astro_mm manifest.

    Reads ``<root>/cifar-10-batches-py`` like mmpretrain's ``CIFAR10``,
    where ``<root>`` is ``data_root`` joined with ``data_prefix``:

    * If ``<root>/astro_mm_demo.json`` exists (written by
      :func:`astro_mm.datasets.generate_demo_cifar`), every batch file and
      ``batches.meta`` must match its sha256 there; any mismatch or missing
      file raises ``RuntimeError`` naming the file. Nothing is downloaded.
    * Otherwise the directory is treated as the real CIFAR-10 and
      mmpretrain's official md5 check applies unchanged.

    Class names come from ``batches.meta`` (the generated shape names, or
    the real CIFAR-10 names) unless ``metainfo`` gives ``classes``.

    Example config::

        dict(type='astro_mm.GeneratedCIFAR10', data_root='data/demo_cifar',
             split='train', pipeline=[...])

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        metainfo (dict, optional): Overrides, e.g. ``classes``.
        download (bool): Download the real CIFAR-10 when no manifest and no
            valid files are found. Defaults to False, unlike mmpretrain: a
            missing demo set should be generated, not replaced by CIFAR-10.
        **kwargs: Other arguments of mmpretrain's ``CIFAR10``.
    """

    # No default classes: ``CIFAR10.load_data_list`` reads batches.meta only
    # when ``self.CLASSES`` is None, i.e. when METAINFO has no 'classes'.
    METAINFO = {}

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 metainfo: Optional[dict] = None,
                 download: bool = False,
                 **kwargs):
        super().__init__(
            data_root=data_root,
            split=split,
            metainfo=metainfo,
            download=download,
            **kwargs)

    # -- manifest -----------------------------------------------------------

    def _manifest_path(self) -> str:
        return join_path(self.data_prefix['root'], MANIFEST_NAME)

    def _read_manifest(self) -> Optional[dict]:
        path = self._manifest_path()
        if not exists(path):
            return None
        try:
            return json.loads(get_text(path))
        except ValueError as e:
            raise RuntimeError(f'Manifest {path} is not valid JSON ({e}); '
                               f'{REGENERATE_HINT}') from e

    def _checked_files(self) -> List[str]:
        """Paths, relative to the root, of every file the loader reads."""
        names = [entry[0] for entry in self.train_list + self.test_list]
        names.append(self.meta['filename'])
        return [f'{self.base_folder}/{name}' for name in names]

    def _verify_manifest(self, manifest: dict) -> None:
        """Raise ``RuntimeError`` unless every read file matches ``manifest``.

        Args:
            manifest (dict): The generator's manifest.
        """
        root = self.data_prefix['root']
        hashes = manifest.get('files', {})
        for rel in self._checked_files():
            path = join_path(root, rel)
            if rel not in hashes:
                raise RuntimeError(
                    f'{path} is not listed in the manifest '
                    f'{self._manifest_path()}; {REGENERATE_HINT}')
            if not exists(path):
                raise RuntimeError(
                    f'{path} is missing (listed in the manifest '
                    f'{self._manifest_path()}); {REGENERATE_HINT}')
            if hashlib.sha256(get(path)).hexdigest() != hashes[rel]:
                raise RuntimeError(
                    f'{path} does not match its sha256 in the manifest '
                    f'{self._manifest_path()} (modified or partly '
                    f'written); {REGENERATE_HINT}')

    # -- overrides of mmpretrain's CIFAR10 ------------------------------------

    def _check_integrity(self) -> bool:
        """Check files against the manifest if present, else the md5 sums.

        A manifest mismatch raises instead of returning False: False would
        make mmpretrain download the real CIFAR-10 over the generated set.
        Without a manifest and valid CIFAR-10 files (and ``download=False``)
        it raises too, naming the command that generates the demo set:
        mmpretrain's own message would advise ``download=True``.
        """
        manifest = self._read_manifest()
        if manifest is None:
            official = super()._check_integrity()
            if official or self.download:
                return official
            raise RuntimeError(
                f'Cannot find GeneratedCIFAR10 data in '
                f"{self.data_prefix['root']}: no generator manifest "
                f'({MANIFEST_NAME}) and no files matching CIFAR-10\'s md5 '
                f'sums; {GENERATE_HINT}')
        self._verify_manifest(manifest)
        return True

    def _load_meta(self) -> None:
        """Load class names from ``batches.meta``.

        With a manifest, batches.meta was already verified by sha256 in
        :meth:`_check_integrity`, so mmpretrain's reader is run with the
        official md5 disabled; it would reject the generated file.
        """
        if self._read_manifest() is None:
            super()._load_meta()
        else:
            # An instance attribute shadows the class-level ``meta`` for
            # the duration of the call only.
            self.meta = dict(type(self).meta, md5=None)
            try:
                super()._load_meta()
            finally:
                del self.meta
        # The pickle holds a list; a tuple matches mmpretrain's CIFAR10.
        self._metainfo['classes'] = tuple(self._metainfo['classes'])
