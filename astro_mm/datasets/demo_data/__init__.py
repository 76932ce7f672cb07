"""Deterministic synthetic demo data: a CIFAR-10 look-alike and a small COCO.

Both generators depend on numpy and Pillow only, so the data can be produced
before (or without) the OpenMMLab stack being importable. They are seeded:
the same seed and parameters give byte-identical files on the same machine
and library versions. Across machines, bytes may differ: PNG and pickle
bytes depend on Pillow, zlib and numpy, and numpy's vectorised sin/cos may
differ in the last bit between CPUs. That is why checksums are recorded in
a per-set manifest rather than hard-coded.

Every image is drawn from its own random stream, seeded by
``(seed, split, index)``, so image ``i`` of a split does not change when the
size of another split changes.

On-disk layout::

    <cifar root>/
        cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
        astro_mm_demo.json          # manifest, written last
    <coco root>/
        train/train_000001.png ...
        val/val_000001.png ...
        annotations/instances_{train,val}.json
        astro_mm_demo.json          # manifest, written last

The manifest records the generator, its version, the parameters, counts and
the sha256 of every file written. A call whose manifest already matches its
parameters (and whose files all exist) returns the manifest without writing
anything. Files are written to a temporary name and renamed into place, and a
stale manifest is deleted before regeneration starts, so an interrupted run
never leaves a set that looks complete.

One module per generator (:mod:`.cifar`, :mod:`.coco`), with what they
share in :mod:`.files` (writing, manifest, random streams) and
:mod:`.drawing` (backgrounds, colours). None imports torch or an OpenMMLab
package, and neither do the ``astro_mm`` and ``astro_mm.datasets`` package
files above them, so ``tools/generate_demo_data.py`` runs before the full
stack is installed.
"""
from .cifar import CIFAR_CLASSES, CIFAR_FOLDER, generate_demo_cifar  # noqa: F401
from .coco import COCO_CATEGORIES, coco_area_bucket, generate_demo_coco
from .files import GENERATOR_VERSION, MANIFEST_NAME  # noqa: F401

__all__ = [
    'generate_demo_cifar', 'generate_demo_coco', 'MANIFEST_NAME',
    'CIFAR_CLASSES', 'COCO_CATEGORIES', 'coco_area_bucket'
]
