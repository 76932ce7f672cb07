"""Turn an evaluator's metrics dict into the headline numbers of a table."""
from typing import Dict, Optional

# mmdet's CocoMetric item names -> the names the papers' tables use.
COCO_ITEMS = {
    'mAP': 'AP',
    'mAP_50': 'AP50',
    'mAP_75': 'AP75',
    'mAP_s': 'AP_S',
    'mAP_m': 'AP_M',
    'mAP_l': 'AP_L',
}


def summarize_metrics(metrics: Dict) -> Dict[str, Dict[str, float]]:
    """Group metrics as ``{'bbox': {'AP': ..., 'AP50': ...}, 'cls': {...}}``.

    COCO values are returned in percent (mmdet reports fractions); accuracy
    is already in percent in mmpretrain.

    Args:
        metrics (dict): What ``Runner.test()`` / ``Runner.val()`` returned,
            e.g. ``{'coco/bbox_mAP': 0.31, 'accuracy/top1': 87.5}``.
    """
    summary: Dict[str, Dict[str, float]] = {}
    for key, value in metrics.items():
        if isinstance(value, str):
            continue
        name = key.split('/', 1)[-1]
        if key.startswith('coco/') and '_' in name:
            iou_type, item = name.split('_', 1)
            if item in COCO_ITEMS:
                summary.setdefault(iou_type, {})[COCO_ITEMS[item]] = round(
                    100.0 * float(value), 2)
        elif key.startswith('accuracy/'):
            summary.setdefault('cls', {})[name] = round(float(value), 2)
    return summary


def format_summary(summary: Dict[str, Dict[str, float]],
                   title: Optional[str] = None) -> str:
    """Render :func:`summarize_metrics`' output as a small text table."""
    lines = [title] if title else []
    for group, values in summary.items():
        cells = '  '.join(f'{k}={v:.2f}' for k, v in values.items())
        lines.append(f'  {group:<5} {cells}')
    return '\n'.join(lines)
