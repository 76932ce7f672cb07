from .coco_summary import COCO_ITEMS, format_summary, summarize_metrics
from .empty_safe_coco_metric import EmptySafeCocoMetric

__all__ = [
    'EmptySafeCocoMetric', 'summarize_metrics', 'format_summary', 'COCO_ITEMS'
]
