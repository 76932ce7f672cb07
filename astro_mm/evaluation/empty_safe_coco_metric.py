"""mmdet's CocoMetric, with an empty prediction set scored as AP 0 and the
annotation file read through astro_mm's repairing loader."""
from typing import Dict, List, Optional

from mmdet.evaluation import CocoMetric
from mmengine.logging import MMLogger

from astro_mm.datasets.checked_coco import load_coco_annotations
from astro_mm.datasets.coco_repair import coco_api_from_dict
from astro_mm.registry import METRICS

DEFAULT_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


@METRICS.register_module()
class EmptySafeCocoMetric(CocoMetric):
    """COCO metric that reports a run without detections as AP 0.

    Early in training every CondInst / BoxInst score can fall under the test
    score threshold. mmdet's :class:`CocoMetric` then logs "The testing
    results of the whole dataset is empty" and returns no metric at all, so a
    table would lose the row (and ``save_best`` would crash). This subclass
    fills every missing ``{metric}_{item}`` with 0.0 and warns, which is the
    value COCOeval itself would give to an empty prediction set.

    The ground truth is read by
    :func:`astro_mm.datasets.checked_coco.load_coco_annotations`, the loader
    of :class:`~astro_mm.datasets.CheckedCocoDataset`: annotation ids below
    1 (which COCOeval reads as "no match") are renumbered from 1 and a
    ``_background_`` category is dropped with its annotations, so the
    metric's category ids match the dataset's labels; or, with
    ``fix_annotations=False``, such a file is refused.

    Args:
        ann_file (str, optional): The COCO ground truth, as in mmdet.
        fix_annotations (bool): Repair (True, the default) or refuse
            (False) a file with annotation ids below 1 or a background
            category; give the dataset the same setting.
        **kwargs: Every other argument of
            :class:`mmdet.evaluation.CocoMetric`.
    """

    def __init__(self,
                 ann_file: Optional[str] = None,
                 fix_annotations: bool = True,
                 **kwargs) -> None:
        super().__init__(ann_file=None, **kwargs)
        self.fix_annotations = fix_annotations
        if ann_file is not None:
            dataset = load_coco_annotations(
                ann_file,
                backend_args=self.backend_args,
                fix_annotations=fix_annotations)
            if kwargs.get('sort_categories', False):
                # as mmdet's CocoMetric does with the file's content
                dataset['categories'] = sorted(
                    dataset['categories'], key=lambda cat: cat['id'])
            self._coco_api = coco_api_from_dict(dataset)

    def compute_metrics(self, results: List) -> Dict[str, float]:
        eval_results = super().compute_metrics(results)
        if self.format_only:
            return eval_results
        items = self.metric_items or DEFAULT_ITEMS
        missing = [
            metric for metric in self.metrics if metric != 'proposal'
            and f'{metric}_{items[0]}' not in eval_results
        ]
        for metric in missing:
            for item in items:
                eval_results[f'{metric}_{item}'] = 0.0
        if missing:
            MMLogger.get_current_instance().warning(
                f'no predictions above the score threshold for '
                f'{", ".join(missing)}: reported as AP 0 (every '
                f'{"/".join(items)} set to 0.0)')
        return eval_results
