"""A suite's table: measured mean +- std over seeds beside the paper's value.

Classification runs give one row, plus one per prune tag (top-1 of the
pruned network as exported and after the suite's fine-tune, params,
backbone FLOPs, latency ratio); a row's minutes are its own, summed over
seeds (a pruned row's: prune, tests, fine-tune; the trained row's: the
rest of the unit);
detection runs give one row with COCO AP (the run's ``metric``), AP50, AP75,
AP_S/M/L and, for instance segmentation, box AP.
"""
import csv
import io
import statistics
from typing import Dict, List, Optional

from .launch import total_batch_flag

COCO_COLUMNS = ('AP', 'AP50', 'AP75', 'AP_S', 'AP_M', 'AP_L')
METHOD_NAMES = dict(plain='plain', cds='CDS', astronet='AstroNet',
                    manet='MA-Net', gates='gates (control)',
                    slimming='network slimming',
                    group_sparsity='DepGraph group sparsity',
                    prune_early='prune-early (control)')
# what ranks the units of a pruned row: a run's P, or a baseline pruner
PRUNER_NAMES = dict(METHOD_NAMES, random='random', l1='L1-norm',
                    bn_scale='BN-scale', taylor='Taylor',
                    group_norm='DepGraph group-norm',
                    cost='cost (control)', early='prune-early')


def mean_std(values: List[Optional[float]]) -> Dict[str, Optional[float]]:
    """Mean and sample std of the values that exist (None where none)."""
    values = [v for v in values if v is not None]
    if not values:
        return dict(mean=None, std=None, n=0)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return dict(mean=statistics.mean(values), std=std, n=len(values))


def _label(run, results: List[dict]) -> str:
    """The run's label, flagged when it trained at another total batch
    than its config's (:func:`.launch.total_batch_flag`)."""
    flag = total_batch_flag(results)
    return f'{run.label} [{flag}]' if flag else run.label


def _cls_rows(run, results: List[dict]) -> List[dict]:
    base = dict(run=run.name, task='cls', method=run.method,
                label=_label(run, results),
                params_M=results[0]['params_M'], flops_G=results[0]['flops_G'],
                minutes=round(sum(r['minutes'] for r in results), 1))
    pruned_minutes = sum(p.get('minutes', 0.0) for r in results
                         for p in r.get('pruned', {}).values())
    rows = [dict(base, variant='trained',
                 minutes=round(max(0.0, base["minutes"] - pruned_minutes), 1),
                 top1=mean_std(
        [r['top1'] for r in results]), top1_finetuned=mean_std(
            [r.get('top1_finetuned') for r in results]),
        paper=dict(run.paper))]
    for tag, spec in run.prune.items():
        # a study in progress (tools/run_suite.py --report) may lack a tag
        pruned = [r['pruned'][tag] for r in results
                  if tag in r.get('pruned', {})]
        if not pruned:
            continue
        rows.append(dict(
            base, variant=f'pruned {tag}' + (
                f' ({spec.method})' if spec.get('method') else ''),
            pruner=spec.get('method') or run.method,
            top1=mean_std([p['top1'] for p in pruned]),
            top1_finetuned=mean_std(
                [p.get('top1_finetuned') for p in pruned]),
            params_M=statistics.mean(p['params_M'] for p in pruned),
            flops_G=statistics.mean(p['flops_G'] for p in pruned),
            # every row's share of the backbone kept in both measures,
            # whichever its budget counts (a parameter budget may keep
            # far more FLOPs than a FLOPs budget of the same share)
            params_ratio=mean_std([p.get('params_ratio') for p in pruned]),
            flops_ratio=mean_std([p.get('flops_ratio') for p in pruned]),
            rank=spec.get('rank') or next(
                (p['rank'] for p in pruned if p.get('rank')), None),
            latency_ratio=mean_std([p['latency_ratio'] for p in pruned]),
            threshold=mean_std([p['threshold'] for p in pruned])['mean'],
            minutes=round(sum(p.get('minutes', 0.0) for p in pruned), 1),
            paper=dict(spec.get('paper', {}))))
    return rows


def _det_rows(run, results: List[dict]) -> List[dict]:
    row = dict(run=run.name, task='det', method=run.method,
               label=_label(run, results),
               backbone=run.backbone, metric=run.metric,
               params_M=results[0]['params_M'],
               backbone_params_M=results[0]['backbone_params_M'],
               minutes=round(sum(r['minutes'] for r in results), 1),
               paper=dict(run.paper))
    for column in COCO_COLUMNS:
        row[column] = mean_std([
            r['metrics'].get(run.metric, {}).get(column, 0.0)
            for r in results
        ])
    if run.metric == 'segm':
        row['box_AP'] = mean_std(
            [r['metrics'].get('bbox', {}).get('AP', 0.0) for r in results])
    return [row]


def build_rows(cfg, results: Dict[str, List[dict]]) -> List[dict]:
    """Rows of the table, in the suite's run order."""
    rows = []
    for run in cfg.runs:
        if not results.get(run.name):  # none of its units finished yet
            continue
        make = _cls_rows if run.task == 'cls' else _det_rows
        rows += make(run, results[run.name])
    return rows


def _fmt(stat, digits: int = 2) -> str:
    if stat is None or stat.get('mean') is None:
        return '-'
    text = f'{stat["mean"]:.{digits}f}'
    if stat['n'] > 1:
        text += f' ± {stat["std"]:.{digits}f}'
    return text


def _paper(row, key: str) -> str:
    value = row['paper'].get(key)
    return '-' if value is None else f'{value}'


def to_markdown(cfg, rows: List[dict]) -> str:
    """The suite's title, then a classification and a detection table."""
    lines = [f'# {cfg.suite.title}', '']
    cls = [r for r in rows if r['task'] == 'cls']
    det = [r for r in rows if r['task'] == 'det']
    if cls:
        lines += [
            '| model | method | variant | top-1 (%) | top-1 fine-tuned (%) '
            '| paper top-1 | params (M) | paper params (M) | '
            'FLOPs (G, backbone) | params ratio | FLOPs ratio | '
            'latency ratio | seeds | minutes |',
            '|' + '---|' * 14
        ]
        for r in cls:
            lines.append(
                f'| {r["label"]} | {METHOD_NAMES[r["method"]]} | '
                f'{r["variant"]} | {_fmt(r["top1"])} | '
                f'{_fmt(r.get("top1_finetuned"))} | {_paper(r, "top1")} | '
                f'{r["params_M"]:.2f} | {_paper(r, "params_M")} | '
                f'{r["flops_G"]:.3f} | {_fmt(r.get("params_ratio"), 3)} | '
                f'{_fmt(r.get("flops_ratio"), 3)} | '
                f'{_fmt(r.get("latency_ratio"), 3)} | '
                f'{r["top1"]["n"]} | {r["minutes"]} |')
        lines.append('')
    if det:
        lines += [
            '| model | backbone | metric | ' + ' | '.join(COCO_COLUMNS) +
            ' | box AP | paper AP | params (M) | backbone (M) | seeds | '
            'minutes |', '|' + '---|' * (len(COCO_COLUMNS) + 9)
        ]
        for r in det:
            cells = ' | '.join(_fmt(r[c], 1) for c in COCO_COLUMNS)
            lines.append(
                f'| {r["label"]} | {r["backbone"]} | {r["metric"]} | {cells} '
                f'| {_fmt(r.get("box_AP"), 1)} | {_paper(r, "AP")} | '
                f'{r["params_M"]:.2f} | {r["backbone_params_M"]:.2f} | '
                f'{r["AP"]["n"]} | {r["minutes"]} |')
        if any(r['AP']['mean'] == 0 for r in det):
            lines += ['', 'AP 0.0: after too short a schedule no '
                      'prediction matched the ground truth, or none scored '
                      'above the detector\'s threshold; reported as 0, not '
                      'dropped (see the run\'s test.log).']
        lines.append('')
    return '\n'.join(lines)


def to_csv(rows: List[dict]) -> str:
    """One flat line per row: ``X_mean`` / ``X_std`` per measured value and
    ``paper_X`` per paper value."""
    flat = []
    for r in rows:
        line = {}
        for key, value in r.items():
            if isinstance(value, dict) and 'mean' in value:
                line[f'{key}_mean'], line[f'{key}_std'] = (value['mean'],
                                                         value['std'])
                line['seeds'] = value['n']
            elif key == 'paper':
                line.update({f'paper_{k}': v for k, v in value.items()})
            else:
                line[key] = value
        flat.append(line)
    columns = list(dict.fromkeys(k for line in flat for k in line))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(flat)
    return buffer.getvalue()
