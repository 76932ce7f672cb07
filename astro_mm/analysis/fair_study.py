"""Reading the fair study: tries chosen on validation, paired verdicts.

The fair study (configs/suites/fair-study*_fashion-mnist-holdout5k.py) runs
every method at four budgets, parameters or FLOPs (MACs), 0.6 or 0.4, on the
same seeds. Its rows are read from the units' ``result.json`` files (the
suite's work dir or its archive) and named by the study's convention:

* a *budget* is written ``p60`` / ``p40`` (parameters) or ``f60`` / ``f40``
  (FLOPs) in the run's name (budget-aware trainings, prune-early) or in the
  prune tag (post-hoc pruners: ``l1_f60_cost`` is L1-norm at FLOPs 0.6,
  ranked per unit of cost);
* a *method* is what the row is reported as: ``astronet``, ``manet``,
  ``gates``, a post-hoc pruner of the plain network (``l1``, ``taylor``,
  ..., ``cost``), ``slimming``, ``group_sparsity``, ``prune_early``.

Everything that chooses (a setting among a method's tries, the best rival of
the astro rows) reads the fine-tuned top-1 on the validation split
(``top1_val_finetuned``); the differences reported read the test top-1
(``top1_finetuned``) of rows of the same seed.
"""
import glob
import json
import math
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from .et_curves import read_scalars

BUDGET_PATTERN = re.compile(r'(?:^|_)([pf])(60|40)(?:_|$)')
MEASURES = dict(p='params', f='flops')
ASTRO = ('astronet', 'manet')
# run name prefix -> method, for runs whose every pruned row is the method
TRAINED_METHODS = ('astronet', 'manet', 'gates', 'slimming',
                   'group_sparsity', 'prune_early')


@dataclass
class Row:
    """One pruned network of one seed.

    Attributes:
        method (str): What the row is reported as (see the module doc).
        setting (str): The setting among the method's tries (the run name
            and tag, less the budget): what validation chooses between.
        measure (str): ``'params'`` or ``'flops'``.
        budget (float): The target share of the measure.
        seed (int): The training seed.
        top1 (float): Fine-tuned top-1 on the test set.
        top1_val (float): Fine-tuned top-1 on the validation split.
        params_ratio (float): Backbone parameters kept.
        flops_ratio (float): Backbone MACs kept.
    """
    method: str
    setting: str
    measure: str
    budget: float
    seed: int
    top1: Optional[float]
    top1_val: Optional[float]
    params_ratio: float
    flops_ratio: float

    @property
    def budget_deviation(self) -> float:
        """How far the row's kept share in its own measure is from its
        budget."""
        kept = self.params_ratio if self.measure == 'params' else \
            self.flops_ratio
        return abs(kept - self.budget)


def _budget(*names: str) -> Optional[Tuple[str, float, str]]:
    """(measure, budget, the name with the budget taken out) from the first
    name that carries a budget."""
    for name in names:
        match = BUDGET_PATTERN.search(name)
        if match:
            rest = (name[:match.start()] + '_' + name[match.end():]).strip('_')
            return (MEASURES[match.group(1)], int(match.group(2)) / 100,
                    rest.replace('__', '_'))
    return None


def _method(run: str, tag: str) -> str:
    for method in TRAINED_METHODS:
        if run.startswith(method):
            return method
    # a post-hoc pruner of the plain network: the tag's first word(s)
    return tag.split('_f')[0].split('_p')[0]


def read_rows(folder: str) -> List[Row]:
    """Every fine-tuned pruned row with a budget in the study's naming,
    from ``folder/RUN/seedS/result.json``."""
    rows = []
    for path in sorted(glob.glob(osp.join(folder, '*', 'seed*',
                                          'result.json'))):
        with open(path) as f:
            result = json.load(f)
        run = osp.basename(osp.dirname(osp.dirname(path)))
        for tag, pruned in result.get('pruned', {}).items():
            parsed = _budget(run, tag)
            if parsed is None or pruned.get('top1_finetuned') is None:
                continue
            measure, budget, _ = parsed
            run_rest = _budget(run)
            setting = (run_rest[2] if run_rest else run) + '/' + \
                (_budget(tag)[2] if _budget(tag) else tag)
            rows.append(Row(
                method=_method(run, tag), setting=setting, measure=measure,
                budget=budget, seed=int(result['seed']),
                top1=pruned.get('top1_finetuned'),
                top1_val=pruned.get('top1_val_finetuned'),
                params_ratio=float(pruned['params_ratio']),
                flops_ratio=float(pruned['flops_ratio'])))
    return rows


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values)


def choose_settings(rows: List[Row], seed: int = 0, measure: str = 'flops',
                    budget: float = 0.6
                    ) -> Dict[str, Tuple[str, float, Dict[str, float]]]:
    """Each method's setting with the highest fine-tuned validation top-1
    on ``seed`` at one budget (the tuning stage's: FLOPs 0.6):
    ``{method: (setting, its val top-1, {setting: val top-1} of every
    try)}``; ties go to the setting first in name order.

    Raises:
        ValueError: A try has no validation top-1 (the suite ran without
            ``validation``): nothing may be chosen on the test set.
    """
    tries: Dict[str, Dict[str, float]] = {}
    for row in rows:
        if row.seed != seed or row.measure != measure or \
                abs(row.budget - budget) > 1e-9:
            continue
        if row.top1_val is None:
            raise ValueError(f'{row.setting} (seed {row.seed}) has no '
                             'validation top-1: run the suite with '
                             'validation=True; settings are never chosen on '
                             'the test set')
        tries.setdefault(row.method, {})[row.setting] = row.top1_val
    return {method: (max(sorted(scores), key=lambda s: scores[s]),
                     max(scores.values()), scores)
            for method, scores in tries.items()}


def t_half_width(differences: List[float], confidence: float = 0.95
                 ) -> float:
    """Half-width of the two-sided t interval of the mean difference (NaN
    with fewer than two pairs)."""
    if len(differences) < 2:
        return float('nan')
    from scipy.stats import t
    m = mean(differences)
    sd = math.sqrt(sum((d - m)**2 for d in differences) /
                   (len(differences) - 1))
    return float(t.ppf(0.5 + confidence / 2, len(differences) - 1) * sd /
                 math.sqrt(len(differences)))


@dataclass
class Comparison:
    """A paired per-seed difference in fine-tuned test top-1, a - b."""
    a: str
    b: str
    measure: str
    budget: float
    differences: Dict[int, float] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return mean(self.differences.values()) if self.differences else \
            float('nan')

    @property
    def half_width(self) -> float:
        return t_half_width(list(self.differences.values()))

    @property
    def verdict(self) -> str:
        """``a`` or ``b`` where the interval excludes 0, else ``tie``
        (``n/a`` with fewer than two pairs)."""
        h = self.half_width
        if math.isnan(h):
            return 'n/a'
        if self.mean - h > 0:
            return self.a
        if self.mean + h < 0:
            return self.b
        return 'tie'


def by_method(rows: List[Row], measure: str, budget: float
              ) -> Dict[str, Dict[int, Row]]:
    """``{method: {seed: row}}`` at one budget (one setting per method:
    the main stage runs each method's chosen setting only)."""
    table: Dict[str, Dict[int, Row]] = {}
    for row in rows:
        if row.measure == measure and abs(row.budget - budget) < 1e-9:
            seeds = table.setdefault(row.method, {})
            if row.seed in seeds and seeds[row.seed].setting != row.setting:
                raise ValueError(
                    f'{row.method} has two settings at {measure} {budget} '
                    f'seed {row.seed} ({seeds[row.seed].setting}, '
                    f'{row.setting}): read the main stage, which runs one')
            seeds[row.seed] = row
    return table


def planned_rows(suite_file: str
                 ) -> Dict[Tuple[str, float], Dict[str, set]]:
    """What a suite config will write, in the rows' naming:
    ``{(measure, budget): {method: {seeds}}}``, read from its runs (names,
    prune tags, seeds) as :func:`read_rows` reads their results."""
    from mmengine.config import Config
    cfg = Config.fromfile(suite_file)
    planned: Dict[Tuple[str, float], Dict[str, set]] = {}
    for run in cfg.runs:
        seeds = run.get('seeds') or cfg.suite.seeds
        for tag in (run.get('prune') or {}):
            parsed = _budget(run['name'], tag)
            if parsed is None:
                continue
            measure, budget, _ = parsed
            planned.setdefault((measure, budget), {}).setdefault(
                _method(run['name'], tag), set()).update(seeds)
    return planned


def lacking_seeds(table: Dict[str, Dict[int, Row]],
                  planned: Optional[Dict[str, set]] = None
                  ) -> Dict[str, List[int]]:
    """``{method: [missing seeds]}`` at one budget (a study in progress).

    Args:
        table: ``{method: {seed: row}}`` of the budget (:func:`by_method`).
        planned: ``{method: {seeds}}`` the suite will write at the budget
            (:func:`planned_rows`); a method planned but without a row yet
            lacks every seed. Without it a method lacks the seeds some other
            method of the budget has.
    """
    if planned is None:
        seeds = set().union(*table.values())  # every seed of every method
        planned = {method: seeds for method in table}
    return {method: sorted(seeds - set(table.get(method, {})))
            for method, seeds in sorted(planned.items())
            if seeds - set(table.get(method, {}))}


def best_rival(table: Dict[str, Dict[int, Row]],
               planned: Optional[Dict[str, set]] = None,
               exclude: Iterable[str] = ()) -> Optional[str]:
    """The rival of the astro rows (any method but AstroNet and MA-Net)
    with the highest mean fine-tuned validation top-1 over its seeds.

    Only rivals with every seed take part (``planned``: see
    :func:`lacking_seeds`): a mean over fewer seeds is a different
    quantity, so a study in progress names its best rival among the
    complete ones, and a rival still to come may yet take its place.
    ``exclude`` names methods that may not be chosen either."""
    lacking = lacking_seeds(table, planned)
    excluded = set(ASTRO) | set(exclude)
    rivals = {method: mean(r.top1_val for r in seeds.values())
              for method, seeds in table.items()
              if method not in excluded and method not in lacking and
              all(r.top1_val is not None for r in seeds.values())}
    return max(sorted(rivals), key=lambda m: rivals[m]) if rivals else None


def compare(table: Dict[str, Dict[int, Row]], a: str, b: Optional[str],
            measure: str, budget: float) -> Comparison:
    """The paired difference of ``a`` and ``b`` over their common seeds."""
    comparison = Comparison(a, b or '-', measure, budget)
    if b is None or a not in table or b not in table:
        return comparison
    for seed in sorted(set(table[a]) & set(table[b])):
        comparison.differences[seed] = table[a][seed].top1 - \
            table[b][seed].top1
    return comparison


def chosen_rows(rows: List[Row], choices: Dict[str, Tuple]) -> List[Row]:
    """The rows of each method's chosen setting (a method without tries
    has one setting, kept as it is)."""
    return [row for row in rows
            if row.method not in choices or
            row.setting == choices[row.method][0]]


def budget_reached_at(work_dir: str, target: float,
                      tolerance: float = 0.01) -> Optional[int]:
    """The first logged iteration of a budget-aware training from which its
    gates' kept share (``kept_ratio``) stays within ``tolerance`` of
    ``target`` to the end: where the row starts training in its pruned
    shape, the iteration the prune-early control prunes at. None if it
    never settles.

    Raises:
        ValueError: The log holds no ``kept_ratio`` (not a budget-aware
            training).
    """
    records = [(int(r['step']), float(r['kept_ratio']))
               for r in read_scalars(work_dir) if 'kept_ratio' in r]
    if not records:
        raise ValueError(f'{work_dir}: no kept_ratio in its training log '
                         '(not a budget-aware training)')
    reached = None
    for step, ratio in records:
        if abs(ratio - target) <= tolerance:
            reached = step if reached is None else reached
        else:
            reached = None
    return reached
