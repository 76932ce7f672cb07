"""mmdet's CocoMetric, with an empty prediction set scored as AP 0."""
from typing import Dict, List

from mmdet.evaluation import CocoMetric
from mmengine.logging import MMLogger

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

    Accepts exactly :class:`mmdet.evaluation.CocoMetric`'s arguments.
    """

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
