"""Repair (or refuse) COCO files that pycocotools evaluates wrongly.

Annotation tools export COCO files with two traps that pass without a word:

* **Annotation ids that start at 0.** ``COCOeval`` stores the id of the
  matched ground truth and reads 0 as "no match": a detection that hits the
  annotation with id 0 counts as a false positive, and AP drops silently.
* **A background category** (``_background_``, as labelme2coco and similar
  tools export it). mmdet takes it for a real class: every label shifts by
  one and the model learns a class that has no objects.

:func:`repair_coco_annotations` is applied wherever astro_mm reads a COCO
file (:func:`astro_mm.datasets.checked_coco.load_coco_annotations`):
:class:`~astro_mm.datasets.CheckedCocoDataset` and
:class:`~astro_mm.evaluation.EmptySafeCocoMetric` both load through it, so the
dataset's labels and the metric's category ids come from the same repaired
content. ``fix_annotations=True`` (their default) repairs the content in
memory (the file is never rewritten) and warns, naming the file and what
changed; ``False`` refuses the file with an error naming the fix.
"""
import logging
from typing import List, Optional, Tuple

from mmengine.logging import print_log

# Category names annotation tools give the background; exact match.
BACKGROUND_NAMES = ('_background_', '__background__')
# How many changed ids a warning lists.
_MAX_LISTED = 5


class UnsafeCocoAnnotationsError(ValueError):
    """A COCO file pycocotools would evaluate wrongly, refused on request."""


def _background_categories(dataset: dict) -> List[dict]:
    return [
        cat for cat in dataset['categories']
        if cat.get('name') in BACKGROUND_NAMES
    ]


def _drop_background(dataset: dict) -> Optional[str]:
    """Remove background categories and their annotations, in place.

    Returns:
        str | None: What changed, or None when nothing did.
    """
    background = _background_categories(dataset)
    if not background:
        return None
    ids = {cat['id'] for cat in background}
    names = sorted({cat['name'] for cat in background})
    anns = dataset['annotations']
    kept = [ann for ann in anns if ann.get('category_id') not in ids]
    dataset['categories'] = [
        cat for cat in dataset['categories'] if cat['id'] not in ids
    ]
    dataset['annotations'] = kept
    return (f'dropped the background category {names} (id '
            f'{sorted(ids)}) and its {len(anns) - len(kept)} annotations; '
            'labels count the remaining categories from 0 in file order')


def _needs_renumbering(dataset: dict) -> bool:
    ids = [ann.get('id') for ann in dataset['annotations']]
    return any(isinstance(i, (int, float)) and i < 1 for i in ids)


def _renumber(dataset: dict) -> Optional[str]:
    """Give annotations the ids 1..N in file order, in place, if any id < 1.

    Returns:
        str | None: What changed, or None when nothing did.
    """
    if not _needs_renumbering(dataset):
        return None
    anns = dataset['annotations']
    low = sorted(a['id'] for a in anns if isinstance(a.get('id'), (int, float))
                 and a['id'] < 1)[:_MAX_LISTED]
    for new_id, ann in enumerate(anns, start=1):
        ann['id'] = new_id
    return (f'renumbered the {len(anns)} annotation ids 1..{len(anns)} in '
            f'file order (ids below 1, e.g. {low}, are read as "no match" '
            'by COCOeval)')


def _problems(dataset: dict) -> List[str]:
    """The traps present in ``dataset``, as sentences naming the fix."""
    problems = []
    if _needs_renumbering(dataset):
        problems.append(
            'annotation ids start below 1 (COCOeval reads id 0 as "no '
            'match", so a detection of that object counts as a false '
            'positive); renumber the annotation ids from 1')
    background = _background_categories(dataset)
    if background:
        names = sorted({cat['name'] for cat in background})
        problems.append(
            f'a background category {names} is listed in categories (it '
            'would become a real class and shift every label); delete it '
            'and its annotations')
    return problems


def repair_coco_annotations(dataset: dict,
                            ann_file: str,
                            fix_annotations: bool = True
                            ) -> Tuple[dict, List[str]]:
    """Repair or refuse a parsed COCO file with the traps described above.

    Args:
        dataset (dict): The parsed file (``images``, ``annotations``,
            ``categories``); changed in place when repaired.
        ann_file (str): Its path, for the messages.
        fix_annotations (bool): True repairs: drops background categories
            with their annotations, then renumbers annotation ids from 1
            when any id is below 1 (image and category ids are kept, so the
            remaining labels and the metric's category ids agree). False
            raises instead.

    Returns:
        tuple[dict, list[str]]: The dataset and what was changed (empty
        when the file was fine).

    Raises:
        UnsafeCocoAnnotationsError: ``fix_annotations`` is False and the
            file has a trap; the message names the file and the fix.
    """
    if not fix_annotations:
        problems = _problems(dataset)
        if problems:
            raise UnsafeCocoAnnotationsError(
                f'{ann_file}: ' + '; '.join(problems) + '. Or set '
                'fix_annotations=True to repair it in memory.')
        return dataset, []
    changes = [c for c in (_drop_background(dataset), _renumber(dataset)) if c]
    return dataset, changes


def warn_repairs(ann_file: str, changes: List[str]) -> None:
    """Log what :func:`repair_coco_annotations` changed, naming the file."""
    if changes:
        print_log(
            f'{ann_file}: repaired in memory (fix_annotations=True; the '
            f'file is unchanged): {"; ".join(changes)}',
            logger='current',
            level=logging.WARNING)


def coco_api_from_dict(dataset: dict):
    """mmdet's COCO api object over an already parsed (repaired) dict."""
    from mmdet.datasets.api_wrappers import COCO
    coco = COCO()
    coco.dataset = dataset
    coco.createIndex()
    # mmdet's wrapper aliases pycocotools' indexes under its own names in
    # __init__, which ran before the index existed.
    coco.img_ann_map = coco.imgToAnns
    coco.cat_img_map = coco.catToImgs
    return coco
