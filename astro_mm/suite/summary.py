"""A suite's one-line summary: the figures a benchmark's last line quotes.

A suite may name, in ``suite.summary``, the values its last line prints::

    summary=dict(
        name='demo',
        values=dict(
            top1_plain='plain.top1',
            top1_manet_pruned='manet.pruned.b60.top1_finetuned',
            ap_faster_rcnn='faster_rcnn_plain.metrics.bbox.AP'))

Each value is a dotted path into a run's per-seed result (``RUN.KEY...``,
the ``result.json`` the runner writes), averaged over the run's seeds. The
line is ``<name>: minutes=<m> key=value ...``, in the order given, so that
scripts and RESULTS.md can quote it verbatim.

A value that is missing from a result is printed as ``nan`` and named in a
warning: a summary never shows a number that was not measured.
"""
import math
import statistics
from typing import Callable, Dict, List, Optional

SUMMARY_KEYS = {'name', 'values'}


def check_summary(summary: dict, run_names: List[str]) -> Optional[str]:
    """Why ``summary`` cannot be printed (``None`` when it can).

    Args:
        summary (dict): ``suite.summary``.
        run_names (list[str]): The suite's run names.
    """
    unknown = sorted(set(summary) - SUMMARY_KEYS)
    if unknown:
        return f'unknown keys {unknown}; allowed: {sorted(SUMMARY_KEYS)}'
    if not isinstance(summary.get('name'), str) or not summary.get('values'):
        return "needs name='...' and values=dict(key='RUN.PATH', ...)"
    for key, path in summary['values'].items():
        run = str(path).split('.', 1)[0]
        if run not in run_names:
            return (f'values.{key}: {path!r} names no run (runs: '
                    f'{sorted(run_names)})')
    return None


def _lookup(result: dict, keys: List[str]):
    value = result
    for key in keys:
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return value


def summary_values(summary: dict, results: Dict[str, List[dict]],
                   warn: Callable[[str], None] = print) -> Dict[str, float]:
    """Each summary value, the mean over the run's seeds (NaN if missing).

    Args:
        summary (dict): ``suite.summary``.
        results (dict): Run name -> per-seed results (``SuiteRunner.run``).
        warn (callable): Told about every value that is missing.
    """
    values = {}
    for key, path in summary['values'].items():
        run, *keys = str(path).split('.')
        found = [_lookup(r, keys) for r in results.get(run, [])]
        numbers = [float(v) for v in found if isinstance(v, (int, float))]
        if not numbers or len(numbers) < len(found):
            warn(f'summary value {key} ({path}) is missing from '
                 f'{len(found) - len(numbers)} of {len(found)} results; '
                 'printed as nan')
            values[key] = math.nan
            continue
        values[key] = statistics.mean(numbers)
    return values


def summary_line(summary: dict, results: Dict[str, List[dict]],
                 minutes: float,
                 warn: Callable[[str], None] = print) -> str:
    """``<name>: minutes=<m> key=value ...`` (values to 2 decimals, ratios
    to 4)."""
    parts = [f'{summary["name"]}: minutes={minutes:.1f}']
    for key, value in summary_values(summary, results, warn).items():
        digits = 4 if key.endswith('ratio') else 2
        parts.append(f'{key}={value:.{digits}f}')
    return ' '.join(parts)
