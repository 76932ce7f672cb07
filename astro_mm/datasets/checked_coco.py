"""COCO dataset that validates its annotation file before mmdet parses it.

mmdet's :class:`~mmdet.datasets.CocoDataset` trusts its annotation file: a
dangling ``image_id`` or ``category_id`` is silently dropped or raises a bare
``KeyError`` deep in pycocotools, a box outside the image is clipped late in
the pipeline, and a missing image fails only when the sampler first reaches
it, possibly hours into training. :class:`CheckedCocoDataset` checks all of
this once, at load time, with messages that name the file and the item.
It also repairs (or refuses) the files pycocotools evaluates wrongly
(annotation ids from 0, a ``_background_`` category; see
:mod:`.coco_repair`), through :func:`load_coco_annotations`, which
:class:`~astro_mm.evaluation.EmptySafeCocoMetric` shares.
"""
import json
from typing import Iterable, List, Optional

from mmdet.datasets import CocoDataset
from mmengine.fileio import exists, get_local_path, join_path

from astro_mm.registry import DATASETS
from .coco_repair import (coco_api_from_dict, repair_coco_annotations,
                          warn_repairs)

# How many missing image files an error message lists.
_MAX_LISTED_MISSING = 5
# Boxes may overhang the image by this much (annotation tools round).
_BBOX_TOLERANCE = 1.0


def _load_json(ann_file: str, backend_args: Optional[dict]) -> dict:
    if not exists(ann_file, backend_args=backend_args):
        hint = ('; generate the demo set with python '
                'tools/generate_demo_data.py (writes data/demo_cifar and '
                'data/demo_coco; --out DIR for another folder)'
                if 'demo_coco' in str(ann_file) else '')
        raise FileNotFoundError(
            f'COCO annotation file {ann_file} is missing (does not '
            f'exist){hint}')
    with get_local_path(ann_file, backend_args=backend_args) as local_path:
        try:
            with open(local_path, encoding='utf-8') as f:
                dataset = json.load(f)
        except ValueError as e:
            raise ValueError(
                f'{ann_file}: not a valid JSON file ({e})') from e
    if not isinstance(dataset, dict):
        raise ValueError(f'{ann_file}: top level must be a JSON object')
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(dataset.get(key), list):
            raise ValueError(
                f"{ann_file}: missing or non-list top-level key '{key}'")
    return dataset


def _index_by_id(items: List[dict], kind: str, ann_file: str) -> dict:
    """Map id -> item, rejecting items without an id and duplicate ids."""
    index = {}
    for item in items:
        if 'id' not in item:
            raise ValueError(f"{ann_file}: an entry of '{kind}' has no 'id': "
                             f'{str(item)[:200]}')
        if item['id'] in index:
            raise ValueError(
                f"{ann_file}: duplicate id {item['id']} in '{kind}'")
        index[item['id']] = item
    return index


def _check_image_sizes(images: Iterable[dict], ann_file: str) -> None:
    for img in images:
        w, h = img.get('width'), img.get('height')
        if not (isinstance(w, (int, float)) and isinstance(h, (int, float))
                and w > 0 and h > 0):
            raise ValueError(
                f"{ann_file}: image id={img['id']} "
                f"({img.get('file_name')!r}) has no valid width/height: "
                f'{w!r} x {h!r}')


def _check_bbox(ann: dict, img: dict, ann_file: str) -> None:
    """Raise unless ``ann['bbox']`` is a positive box inside ``img``."""
    where = (f"{ann_file}: annotation id={ann['id']} (image_id="
             f"{ann['image_id']}, {img.get('file_name')!r})")
    bbox = ann.get('bbox')
    if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
            or not all(isinstance(v, (int, float)) for v in bbox)):
        raise ValueError(f'{where} has a malformed bbox {bbox!r}; expected '
                         '[x, y, w, h]')
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        raise ValueError(f'{where} has bbox {bbox} with non-positive '
                         'width/height')
    tol = _BBOX_TOLERANCE
    if (x < -tol or y < -tol or x + w > img['width'] + tol
            or y + h > img['height'] + tol):
        raise ValueError(
            f"{where} has bbox {bbox} outside the image bounds "
            f"{img['width']}x{img['height']} (tolerance {tol:g} px)")


def _check_annotations(dataset: dict, images: dict, ann_file: str) -> None:
    cat_ids = {cat['id'] for cat in dataset['categories']}
    _index_by_id(dataset['annotations'], 'annotations', ann_file)
    for ann in dataset['annotations']:
        img = images.get(ann.get('image_id'))
        if img is None:
            raise ValueError(
                f"{ann_file}: annotation id={ann['id']} has image_id="
                f"{ann.get('image_id')!r}, which is not in 'images'")
        if ann.get('category_id') not in cat_ids:
            raise ValueError(
                f"{ann_file}: annotation id={ann['id']} has category_id="
                f"{ann.get('category_id')!r}, which is not in 'categories' "
                f'(known ids: {sorted(cat_ids)})')
        _check_bbox(ann, img, ann_file)


def _check_image_files(images: Iterable[dict], img_prefix: str,
                       ann_file: str, backend_args: Optional[dict]) -> None:
    """Check every listed image exists; report the first few missing.

    All files are checked in one pass, so a broken copy is reported at load
    time rather than when the sampler first reaches a missing image.
    """
    images = list(images)
    missing = [
        img['file_name'] for img in images if not exists(
            join_path(img_prefix, img['file_name']),
            backend_args=backend_args)
    ]
    if missing:
        listed = ', '.join(missing[:_MAX_LISTED_MISSING])
        more = '' if len(missing) <= _MAX_LISTED_MISSING else ', ...'
        raise FileNotFoundError(
            f"{ann_file}: {len(missing)} of {len(images)} image files listed "
            f"in 'images' are missing under {img_prefix!r}: {listed}{more}")


def validate_coco_annotations(ann_file: str,
                              img_prefix: Optional[str] = None,
                              backend_args: Optional[dict] = None) -> dict:
    """Load a COCO annotation file and check its consistency.

    Checks: the file exists and is JSON with list-valued ``images``,
    ``annotations`` and ``categories``; ids are unique; every image has a
    positive width and height; every annotation's ``image_id`` and
    ``category_id`` exist; every bbox has positive width and height and
    lies inside its image (1 px tolerance); and, if ``img_prefix`` is
    given, every image file exists under it.

    Args:
        ann_file (str): Path of the annotation json.
        img_prefix (str, optional): Folder the images' ``file_name`` are
            relative to. None skips the file check.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        dict: The parsed annotation file.

    Raises:
        FileNotFoundError: If ``ann_file`` or an image file is missing.
        ValueError: For any other inconsistency; the message names
            ``ann_file`` and the offending item.
    """
    dataset = _load_json(ann_file, backend_args)
    _check_consistency(dataset, ann_file, img_prefix, backend_args)
    return dataset


def _check_consistency(dataset: dict, ann_file: str,
                       img_prefix: Optional[str],
                       backend_args: Optional[dict]) -> None:
    images = _index_by_id(dataset['images'], 'images', ann_file)
    _index_by_id(dataset['categories'], 'categories', ann_file)
    _check_image_sizes(images.values(), ann_file)
    _check_annotations(dataset, images, ann_file)
    if img_prefix is not None:
        _check_image_files(images.values(), img_prefix, ann_file,
                           backend_args)


def load_coco_annotations(ann_file: str,
                          img_prefix: Optional[str] = None,
                          backend_args: Optional[dict] = None,
                          fix_annotations: bool = True) -> dict:
    """Load a COCO file, repair or refuse its traps, then check it.

    The one loader of :class:`CheckedCocoDataset` and
    :class:`~astro_mm.evaluation.EmptySafeCocoMetric`, so both see the same
    categories and annotation ids.

    Args:
        ann_file (str): Path of the annotation json.
        img_prefix (str, optional): As in :func:`validate_coco_annotations`.
        backend_args (dict, optional): mmengine file backend arguments.
        fix_annotations (bool): True repairs annotation ids below 1 and
            drops a ``_background_`` category with its annotations, with a
            warning naming the file and the change; False refuses such a
            file (:func:`.coco_repair.repair_coco_annotations`).

    Returns:
        dict: The parsed, repaired and checked annotation file.

    Raises:
        FileNotFoundError, ValueError: As :func:`validate_coco_annotations`.
        UnsafeCocoAnnotationsError: A trap with ``fix_annotations=False``.
    """
    dataset = _load_json(ann_file, backend_args)
    dataset, changes = repair_coco_annotations(dataset, ann_file,
                                               fix_annotations)
    warn_repairs(ann_file, changes)
    _check_consistency(dataset, ann_file, img_prefix, backend_args)
    return dataset


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """mmdet ``CocoDataset`` with load-time validation and file classes.

    Differences from mmdet's ``CocoDataset``:

    * Before mmdet parses ``ann_file``, :func:`validate_coco_annotations`
      checks it (and that every image exists under ``data_prefix['img']``)
      and raises ``ValueError``/``FileNotFoundError`` naming the file and
      the offending item.
    * Annotation ids below 1 are renumbered from 1 and a ``_background_``
      category is dropped with its annotations (a warning names the file
      and the change), or, with ``fix_annotations=False``, the file is
      refused; mmdet then parses the repaired content, not the file.
    * Without ``classes`` in ``metainfo``, the classes are the file's
      categories in file order, instead of mmdet's 80 COCO classes (with
      which a custom set silently loads zero annotations). File order
      matters: mmdet maps labels by
      ``coco.get_cat_ids(cat_names=classes)``, which returns ids in file
      order whatever the order of ``classes``.

    The file is parsed twice (validation, then pycocotools); for the demo
    set and sets of typical size this costs well under a second.

    Example config::

        dict(type='astro_mm.CheckedCocoDataset',
             data_root='data/demo_coco/',
             ann_file='annotations/instances_train.json',
             data_prefix=dict(img='train/'),
             filter_cfg=dict(filter_empty_gt=True, min_size=4),
             pipeline=[...])

    Args:
        metainfo (dict, optional): As in mmdet; ``classes`` given here take
            precedence over the file's categories.
        fix_annotations (bool): Repair (True, the default: every number
            stays right) or refuse (False) a file with annotation ids below
            1 or a ``_background_`` category. Give the
            ``EmptySafeCocoMetric`` the same setting.
        *args, **kwargs: Other arguments of mmdet's ``CocoDataset``
            (``data_root``, ``ann_file``, ``data_prefix``, ``pipeline`` ...).
    """

    def __init__(self,
                 *args,
                 metainfo: Optional[dict] = None,
                 fix_annotations: bool = True,
                 **kwargs):
        self.fix_annotations = fix_annotations
        # Decided here because the base __init__ already loads the data
        # (unless lazy_init) and only sees the merged metainfo, in which
        # mmdet's 80 default classes are indistinguishable from user ones.
        self._classes_from_file = not (metainfo is not None
                                       and 'classes' in metainfo)
        super().__init__(*args, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load, repair and validate the file; mmdet parses the result."""
        dataset = load_coco_annotations(
            self.ann_file,
            img_prefix=self.data_prefix.get('img', ''),
            backend_args=self.backend_args,
            fix_annotations=self.fix_annotations)
        if self._classes_from_file:
            self._set_classes(dataset['categories'])
        else:
            self._check_classes(dataset['categories'])
        # mmdet builds its COCO api from the file path; an instance
        # attribute shadows the class-level COCOAPI for this call only, so
        # it parses the repaired content instead.
        self.COCOAPI = lambda _path: coco_api_from_dict(dataset)
        try:
            return super().load_data_list()
        finally:
            del self.COCOAPI

    def _check_classes(self, categories: List[dict]) -> None:
        """Refuse ``metainfo`` classes the file has no category for.

        mmdet maps labels by ``coco.get_cat_ids(cat_names=classes)``, which
        skips unknown names without a word: every later label would shift.
        """
        names = {cat.get('name') for cat in categories}
        unknown = [c for c in self._metainfo['classes'] if c not in names]
        if unknown:
            raise ValueError(
                f'{self.ann_file}: metainfo classes {unknown} are not '
                f'categories of the file (categories: {sorted(names)}); '
                'a background category is dropped when fix_annotations=True')

    def _set_classes(self, categories: List[dict]) -> None:
        classes = tuple(cat['name'] for cat in categories)
        self._metainfo['classes'] = classes
        # mmdet's palette has one colour per COCO class; keep one per class
        # so the visualizer's palette and classes have the same length. With
        # more classes than colours, drop it: mmdet's visualizer asserts
        # len(palette) >= num_classes but picks random colours for None.
        palette = self._metainfo.get('palette')
        if isinstance(palette, list) and len(palette) >= len(classes):
            self._metainfo['palette'] = palette[:len(classes)]
        else:
            self._metainfo.pop('palette', None)
