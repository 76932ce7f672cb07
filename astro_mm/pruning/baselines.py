"""The standard pruners, as baselines of the benchmark, via Torch-Pruning.

A trained *plain* classifier (an mmpretrain ``ImageClassifier`` with a
ResNet backbone: any backbone whose family has channel groups, handed down
as its :class:`~astro_mm.families.FamilyPlan`) is pruned to a budget by one of the pruners
practitioners use, in astro_mm's default scope: the inner channels
of residual blocks (the outputs of every conv of a block but the last), so
the block output widths stay and the result rebuilds with
``astro_mm.PrunedBackbone`` from its widths, exactly like an astro export.
With ``coupled=True`` the channels of every stage's residual stream are
candidates too (:mod:`.coupled`), in the same ranking: the stage widths
shrink, and the checkpoint's meta tells the detectors' necks.

Pruners (:data:`BASELINE_PRUNERS`, one Torch-Pruning importance each):

* ``random``: ``tp.importance.RandomImportance``, seeded;
* ``l1``: L1 norm of each filter of the pruned conv (Li et al. 2017):
  ``MagnitudeImportance(p=1, group_reduction='first')``;
* ``bn_scale``: |gamma| of the batch norm after it (network slimming,
  Liu et al. 2017): ``BNScaleImportance``;
* ``taylor``: first-order Taylor |w * dL/dw| over the channel's group
  (Molchanov et al. 2019): ``TaylorImportance``, from the gradients of a
  few batches;
* ``group_norm``: DepGraph's group L2 norm over every coupled weight
  (Fang et al. 2023): ``GroupMagnitudeImportance(p=2)``, the importance of
  ``GroupNormPruner``;
* ``cost``: not a published pruner but a control: one score for every
  channel, ranked by score / the cost the channel holds (``rank='cost'``,
  the only rule a constant score orders), so the costliest channels go
  first. It is the rule astro_mm's export applies to P
  (:func:`~.export.budget_masks`) with P the same for every unit: what an
  astro row gets from the layer allocation alone when P has not moved.

The budget (``budget``) is a share of one of two measures (``measure``):
``'params'``, the backbone's parameters, or ``'flops'``, the multiply-adds
of its convs and linears for one image of ``input_size`` (the definition of
astro's budget-aware mode, :class:`~.cost.KeptCost` with ``measure='flops'``,
and the ``flops_ratio`` of tools/prune.py's report). The result records
the kept share in both.

Two ranking rules (``rank``), for every pruner:

* ``'group'``: each channel's importance normalized by its group's mean
  (Torch-Pruning's ``normalizer='mean'``; ``random`` draws uniform
  scores, on one scale already), ranked globally as ``MetaPruner`` ranks
  with ``global_pruning=True``. Every group then has scores around 1, so
  every layer loses about the same share of its channels, whatever a
  channel costs. The published pruners' rule, the
  default of all but ``cost``.
* ``'cost'``: the group-normalized score divided by what one channel of
  its group holds in the budget's measure (the drop in the count when that
  channel alone goes): a knapsack's greedy order, astro_mm's export rule
  for P. Costly channels need a higher score to stay; in FLOPs the
  channels of the high-resolution stages are the costly ones.

How a prune goes: Torch-Pruning's dependency graph gives, for every inner
conv, its channel group (the conv's filters, its batch norm, the next
conv's input channels), and with ``coupled`` for every stage the group of
its residual stream; the importance scores every channel of the group
(normalized by its mean within the group, Torch-Pruning's default); the
channels are ranked globally by the ranking rule, lowest first; the
shortest prefix of the ranking whose removal leaves at most ``budget`` of
the backbone's cost in the chosen measure is removed with Torch-Pruning's
own group pruning (one slicing path: its pruning functions shrink the
conv, the norm and the next conv's inputs).

Why not ``MetaPruner.step()`` itself: its ``pruning_ratio`` counts
channels, not parameters or FLOPs, and in one-shot global pruning it skips
a group whose every channel falls under the threshold
(``check_pruning_group``), so that layer stays whole and the cost is not
monotone in the ratio; ``max_pruning_ratio`` only acts between iterative
steps. The ranking here is the same (same scores, same global order with
``rank='group'``); the prefix is chosen by an exact count in the budget's
measure instead, the ``min_keep`` best channels of every layer are never
candidates, and ties go to the earlier layer and channel.

Sparse training is not part of a one-shot prune: ``bn_scale`` and
``group_norm`` score whatever network they are given. Their published
forms, network slimming (L1 on the BN scales during training) and
DepGraph's group sparsity (``GroupNormPruner.regularize`` during
training), train with ``astro_mm.SparseTrainingHook`` first
(configs/slimming, configs/group_sparsity) and are then pruned here with
the matching importance.

Only plain networks: Torch-Pruning traces the autograd graph, and astro_mm's
modulation hooks (a pre-hook that swaps a batch norm's affine parameters
for P-scaled ones) are invisible to it; a model with forward hooks is
refused.
"""
import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import (Callable, Dict, Iterable, List, Optional,
                    Sequence, Tuple)

import torch
import torch_pruning as tp
from torch import nn

from .cost import MEASURES
from .coupled import (ChannelGroup, ParamCount, build_graph, cost_count,
                      example_inputs, params, prune_groups, removed_channels)
from .export import PruneResult, check_plan


# How channels are ranked (what a budget counts: cost.MEASURES).
RANKS = ('group', 'cost')


@dataclass(frozen=True)
class BaselinePruner:
    """A named pruner: how its Torch-Pruning importance is built.

    Attributes:
        name (str): The method's name in suite configs and tools.
        build (Callable[[], tp.importance.Importance]): A fresh importance.
        needs_data (bool): The importance reads gradients of the loss on
            data (``prune_baseline(..., data=...)``).
        reference (str): The paper, for tables and docs.
        rank (str): The ranking rule it uses unless told otherwise
            (:data:`RANKS`): ``'group'`` for the published pruners,
            ``'cost'`` for the ``cost`` control.
        ranks (tuple[str]): The ranking rules that order its scores (a
            constant score is ordered by ``'cost'`` only).
    """
    name: str
    build: Callable[[], tp.importance.Importance]
    needs_data: bool = False
    reference: str = ''
    rank: str = 'group'
    ranks: Tuple[str, ...] = RANKS


BASELINE_PRUNERS: Dict[str, BaselinePruner] = {}


def register_baseline(name: str, needs_data: bool = False,
                      reference: str = '', rank: str = 'group',
                      ranks: Tuple[str, ...] = RANKS) -> Callable:
    """Decorator: register a zero-argument importance builder as ``name``.

    Raises:
        KeyError: ``name`` is taken.
        ValueError: ``rank`` is not one of ``ranks`` or of :data:`RANKS`.
    """
    if rank not in ranks or not set(ranks) <= set(RANKS):
        raise ValueError(f'{name}: rank {rank!r} and ranks {ranks} must be '
                         f'among {RANKS}, rank among ranks')

    def register(build: Callable[[], tp.importance.Importance]) -> Callable:
        if name in BASELINE_PRUNERS:
            raise KeyError(f'baseline pruner {name!r} is already registered')
        BASELINE_PRUNERS[name] = BaselinePruner(name, build, needs_data,
                                                reference, rank, tuple(ranks))
        return build

    return register


@register_baseline('random', reference='random channels (seeded)')
def _random():
    return tp.importance.RandomImportance()


@register_baseline('l1', reference='Li et al. 2017, Pruning Filters for '
                   'Efficient ConvNets')
def _l1():
    # the L1 norm of the pruned conv's filters only (the group's first
    # layer), not the group's mean over the norm and the next conv
    return tp.importance.MagnitudeImportance(
        p=1, group_reduction='first', normalizer='mean')


@register_baseline('bn_scale', reference='Liu et al. 2017, Network '
                   'Slimming')
def _bn_scale():
    return tp.importance.BNScaleImportance()


@register_baseline('taylor', needs_data=True, reference='Molchanov et al. '
                   '2019, Importance Estimation for Neural Network Pruning')
def _taylor():
    return tp.importance.TaylorImportance()


@register_baseline('group_norm', reference='Fang et al. 2023, DepGraph')
def _group_norm():
    return tp.importance.GroupMagnitudeImportance(p=2)


class ConstantImportance(tp.importance.Importance):
    """The same score (1) for every channel of a group."""

    def __call__(self, group, **kwargs) -> torch.Tensor:
        return torch.ones(len(group[0].idxs))


@register_baseline('cost', rank='cost', ranks=('cost', ),
                   reference='control: the costliest channels first '
                   '(astro_mm\'s export rule with a uniform P)')
def _cost():
    return ConstantImportance()


def baseline_pruner(name: str) -> BaselinePruner:
    """The registered pruner ``name``.

    Raises:
        KeyError: Unknown name (the message lists the known ones).
    """
    if name not in BASELINE_PRUNERS:
        raise KeyError(f'unknown baseline pruner {name!r}; known: '
                       f'{", ".join(sorted(BASELINE_PRUNERS))}')
    return BASELINE_PRUNERS[name]


@dataclass
class BaselinePruneResult(PruneResult):
    """:class:`~.export.PruneResult` of a baseline (``threshold`` is NaN and
    ``probs`` None: there is no P), plus what was kept.

    Attributes:
        method (str): The pruner's name.
        kept (dict): Kept channel indices (of the unpruned network) per
            block and slot, ``{'layer1.0': [tensor]}``, as
            :func:`~.strategies.prune_units` takes them; with ``coupled``
            also per stage, ``{'layer1': [tensor]}``.
        scores (dict): The importance of every inner channel by layer name
            (``'layer1.0.conv1'``), and of every stage channel by stage, as
            ranked (normalized per group; with ``rank='cost'`` divided by
            the channel's cost).
        measure (str): What the budget counted: ``'params'`` or
            ``'flops'``.
        rank (str): The ranking rule used: ``'group'`` or ``'cost'``.
        budget (float): The share of ``measure`` asked for.
        params_ratio (float): Kept share of the backbone's parameters.
        flops_ratio (float): Kept share of the backbone's multiply-adds
            (convs and linears, one image of the input size).
        flops_before (int): The unpruned backbone's multiply-adds.
        flops_after (int): The pruned backbone's multiply-adds.
    """
    method: str = ''
    kept: Dict[str, List[torch.Tensor]] = field(default_factory=dict)
    scores: Dict[str, torch.Tensor] = field(default_factory=dict)
    measure: str = 'params'
    rank: str = 'group'
    budget: float = float('nan')
    params_ratio: float = float('nan')
    flops_ratio: float = float('nan')
    flops_before: int = 0
    flops_after: int = 0


def _check_plain(model: nn.Module) -> None:
    if not hasattr(model, 'backbone'):
        raise TypeError(f'{type(model).__name__} has no backbone: '
                        'prune_baseline takes a classifier (e.g. an '
                        'mmpretrain ImageClassifier)')
    if hasattr(model, 'architecture'):
        raise TypeError('baselines prune plain networks, got an astro '
                        f'{type(model).__name__}; prune its trained plain '
                        'counterpart, or export it with export_pruned')
    for name, module in model.named_modules():
        if module._forward_hooks or module._forward_pre_hooks:
            raise ValueError(
                f'module {name or type(model).__name__!r} has forward hooks '
                '(modulation?): Torch-Pruning traces the autograd graph and '
                'does not see them; give a plain network '
                '(astro_mm.models.modulated.unmodulated_copy)')


def _taylor_gradients(model: nn.Module, data: Iterable,
                      num_batches: int) -> None:
    """Accumulate the loss gradients of up to ``num_batches`` batches into
    ``model``'s parameters (eval mode: the norms keep their statistics).

    Raises:
        ValueError: ``data`` yields no batch.
    """
    flags = {p: p.requires_grad for p in model.parameters()}
    for p in flags:
        p.requires_grad_(True)
        p.grad = None
    seen = 0
    try:
        with torch.enable_grad():
            for batch in data:
                if seen == num_batches:
                    break
                batch = model.data_preprocessor(batch, False)
                loss, _ = model.parse_losses(model(**batch, mode='loss'))
                loss.backward()
                seen += 1
    finally:
        for p, flag in flags.items():
            p.requires_grad_(flag)
    if seen == 0:
        raise ValueError('taylor: data yielded no batch to take gradients '
                         'from')


def _scores(slots: Sequence[ChannelGroup], method: str,
            seed: int) -> Dict[str, torch.Tensor]:
    """Torch-Pruning's importance of every channel, by layer name."""
    importance = baseline_pruner(method).build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        scores = {}
        for slot in slots:
            score = importance(slot.group)
            if score is None:
                raise ValueError(
                    f'{method}: {type(importance).__name__} gives no score '
                    f'for {slot.name} (e.g. bn_scale with a non-affine '
                    'norm)')
            score = score.detach().float().cpu()
            if torch.isnan(score).any():
                warnings.warn(f'{method}: NaN importance in {slot.name} '
                              '(all-zero scores?): ranked as 0')
                score = torch.nan_to_num(score, nan=0.0)
            scores[slot.name] = score
    return scores


def _floor(units: int, min_keep: float) -> int:
    return min(units, max(1, math.ceil(min_keep * units)))


def _ranking(slots: Sequence[ChannelGroup], scores: Dict[str, torch.Tensor],
             min_keep: float) -> List[Tuple[int, int]]:
    """Removal candidates (slot index, channel), lowest score first; the
    ``min_keep`` best channels of every slot are never candidates."""
    candidates = []
    for i, slot in enumerate(slots):
        score = scores[slot.name]
        # ascending by score, ties by channel index
        order = sorted(range(score.numel()),
                       key=lambda j: (float(score[j]), j))
        removable = order[:score.numel() - _floor(score.numel(), min_keep)]
        candidates += [(float(score[j]), i, j) for j in removable]
    candidates.sort()
    return [(i, j) for _, i, j in candidates]


def unit_cost(count: ParamCount, full: Sequence[int], index: int) -> int:
    """What one channel of group ``index`` holds in ``count``'s measure:
    how much the count of the unpruned network falls when it alone goes."""
    narrower = list(full)
    narrower[index] -= 1
    return count(full) - count(narrower)


def _per_cost(scores: Dict[str, torch.Tensor],
              groups: Sequence[ChannelGroup], count: ParamCount,
              full: Sequence[int]) -> Dict[str, torch.Tensor]:
    """Each score divided by the cost one channel of its group holds in
    ``count``'s measure (parameters or multiply-adds)."""
    return {group.name: scores[group.name] /
            max(unit_cost(count, full, i), 1)
            for i, group in enumerate(groups)}


def _widths_after(full: Sequence[int], ranking: Sequence[Tuple[int, int]],
                  count: int) -> List[int]:
    widths = list(full)
    for i, _ in ranking[:count]:
        widths[i] -= 1
    return widths


def _removal_count(count: ParamCount, full: Sequence[int],
                   ranking: Sequence[Tuple[int, int]], target: float) -> int:
    """The fewest removals (a prefix of ``ranking``) that leave at most
    ``target`` of ``count``'s measure; all of them when even that leaves
    more."""
    lo, hi = 0, len(ranking)
    while lo < hi:
        mid = (lo + hi) // 2
        if count(_widths_after(full, ranking, mid)) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _prepare(work: nn.Module, plan: 'FamilyPlan', method: str,
             data: Optional[Iterable], num_batches: int, seed: int,
             input_size: Sequence[int], coupled: bool = False
             ) -> Tuple[tp.DependencyGraph, List[ChannelGroup],
                        Dict[str, torch.Tensor]]:
    """Gradients (if the method needs them), dependency graph, channel
    groups (inner, then with ``coupled`` the stages') and scores of
    ``work`` (a copy, changed in place; ``plan``: its backbone's)."""
    pruner = baseline_pruner(method)
    plan.require_coupled('baseline pruners')
    if pruner.needs_data:
        if data is None:
            raise ValueError(f'{method} needs data: batches as an mmengine '
                             'dataloader yields them (dict(inputs=..., '
                             'data_samples=...))')
        _taylor_gradients(work, data, num_batches)
    backbone = work.backbone
    example = example_inputs(backbone, input_size)
    # coupled: the whole classifier is traced, so that the last stage's
    # group also holds the head's inputs (which shrink with it)
    graph = build_graph(work if coupled else backbone, example)
    groups = plan.channel_groups(graph, coupled, 'baseline pruners')
    if pruner.needs_data:
        for group in groups:
            for module in (group.conv, *group.in_gated):
                if module.weight.grad is None:
                    raise ValueError(
                        f'{method}: {graph._module2name[module]} got no '
                        'gradient from the batches (is it on the loss '
                        'path?)')
    return graph, groups, _scores(groups, method, seed)


def _resolve_rank(method: str, rank: Optional[str]) -> str:
    """The ranking rule for ``method``: ``rank``, or the method's own.

    Raises:
        ValueError: Unknown ``rank``, or one that cannot order the
            method's scores (``cost`` with ``'group'``).
    """
    pruner = baseline_pruner(method)
    rank = pruner.rank if rank is None else rank
    if rank not in RANKS:
        raise ValueError(f'rank must be one of {RANKS}, got {rank!r}')
    if rank not in pruner.ranks:
        raise ValueError(
            f"{method}: rank={rank!r} ranks nothing: its score is the same "
            f"constant for every channel, so normalized per group every "
            f"channel ties and the order would be the layer order; it ranks "
            f"by {' or '.join(map(repr, pruner.ranks))} only")
    return rank


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise ValueError(f'measure must be one of {MEASURES}, got '
                         f'{measure!r}')


def baseline_scores(model: nn.Module, method: str,
                    data: Optional[Iterable] = None, num_batches: int = 4,
                    seed: int = 0,
                    input_size: Sequence[int] = (32, 32),
                    coupled: bool = False, measure: str = 'params',
                    rank: Optional[str] = None, *,
                    plan: 'FamilyPlan') -> Dict[str, torch.Tensor]:
    """The score ``method`` ranks every inner channel by, by layer name
    (``'layer1.0.conv1'``), and with ``coupled`` every stage channel, by
    stage (``'layer1'``): its importance normalized per group, with
    ``rank='cost'`` divided by the channel's cost in ``measure``; ``model``
    is left unchanged. Arguments as :func:`prune_baseline`."""
    _check_measure(measure)
    rank = _resolve_rank(method, rank)
    _check_plain(model)
    check_plan(plan, model.backbone)
    work = copy.deepcopy(model).eval()
    _, groups, scores = _prepare(work, plan.bind(work.backbone), method, data,
                                 num_batches, seed, input_size, coupled)
    if rank == 'cost':
        count = cost_count(work.backbone, groups, measure, input_size)
        scores = _per_cost(scores, groups, count, [g.width for g in groups])
    return scores


def prune_baseline(model: nn.Module,
                   method: str,
                   budget: float,
                   data: Optional[Iterable] = None,
                   num_batches: int = 4,
                   seed: int = 0,
                   min_keep: float = 0.,
                   tolerance: float = 0.01,
                   input_size: Sequence[int] = (32, 32),
                   coupled: bool = False,
                   measure: str = 'params',
                   rank: Optional[str] = None, *,
                   plan: 'FamilyPlan') -> BaselinePruneResult:
    """Prune a copy of a plain classifier's backbone with a standard pruner:
    the family's inner channel groups (and with ``coupled`` its stage
    groups) in one global ranking, until the backbone keeps at most
    ``budget`` of its ``measure`` (at least ``budget - tolerance``).

    Args:
        model (nn.Module): A trained plain classifier with a ``backbone``
            (e.g. mmpretrain's ``ImageClassifier``), no hooks.
        method (str): A name of :data:`BASELINE_PRUNERS`.
        budget (float): Share of the backbone's cost to keep, in (0, 1].
        data (Iterable, optional): For ``taylor``: mmengine-style batches
            whose loss gradients give the scores (``num_batches`` at most).
        seed (int): Seed of ``random`` (a study passes the training seed).
        min_keep (float): Share of every group's channels always kept.
        tolerance (float): How far under the budget the kept share may fall.
        input_size (Sequence[int]): (H, W) of the traced example image, and
            of the image ``'flops'`` counts for.
        coupled (bool): Stage channels are candidates too.
        measure (str): What ``budget`` counts (:data:`MEASURES`).
        rank (str, optional): :data:`RANKS`; default: the method's own.
        plan (FamilyPlan): The family plan of ``model.backbone``.

    Returns:
        BaselinePruneResult: The pruned classifier (eval mode), its widths,
        parameters and MACs before / after, the measure and rule used, the
        kept channels and the scores.

    Raises:
        KeyError: Unknown ``method``.
        TypeError: No backbone, an astro algorithm, or no family plan.
        ValueError: A bad value, measure or rank, a hooked model, a family
            without channel groups, ``taylor`` without data, or a budget
            out of reach (the message gives the reachable share).
    """
    rank = _check_request(method, budget, min_keep, measure, rank, coupled)
    _check_plain(model)
    check_plan(plan, model.backbone)
    work = copy.deepcopy(model).eval()
    backbone = work.backbone
    plan = plan.bind(backbone)
    graph, groups, scores = _prepare(work, plan, method, data, num_batches,
                                     seed, input_size, coupled)
    counts = {kind: cost_count(backbone, groups, kind, input_size)
              for kind in MEASURES}
    full = [group.width for group in groups]
    if rank == 'cost':
        scores = _per_cost(scores, groups, counts[measure], full)
    ranking = _ranking(groups, scores, min_keep)
    removals = _removal_count(counts[measure], full, ranking,
                              budget * counts[measure].total)
    widths = _widths_after(full, ranking, removals)
    reached = counts[measure](widths) / counts[measure].total
    if reached < budget - tolerance or reached > budget + 1e-9:
        scope = 'inner and stage' if coupled else 'inner'
        raise ValueError(
            f'{method}: the budget {budget} of the {measure} is out of '
            f'reach: removing {scope} channels (keeping {min_keep:.0%} of '
            f'each layer, at least one) in the {rank!r} ranking reaches '
            f'{reached:.4f} at the closest (tolerance {tolerance})')
    kept, silenced = _remove(graph, groups, ranking[:removals])
    for p in work.parameters():
        p.grad = None
    return _result(work.eval(), plan, counts, widths, coupled, silenced,
                   method=method, kept=kept, scores=scores, measure=measure,
                   rank=rank, budget=budget)


def _result(work: nn.Module, plan: 'FamilyPlan',
            counts: Dict[str, ParamCount], widths: Sequence[int],
            coupled: bool, silenced: Dict[str, List[int]],
            **record) -> BaselinePruneResult:
    """The result of a prune that left ``work`` with group ``widths``,
    checked against the width model.

    Raises:
        RuntimeError: Torch-Pruning left another parameter count than the
            width model predicts.
    """
    params_after = params(work.backbone)
    if params_after != counts['params'](widths):
        raise RuntimeError(
            f'{record["method"]}: Torch-Pruning left {params_after} '
            f'backbone parameters, the width model predicted '
            f'{counts["params"](widths)}')
    flops_before, flops_after = counts['flops'].total, counts['flops'](widths)
    return BaselinePruneResult(
        work, plan.inner_widths(), float('nan'), counts['params'].total,
        params_after, None, stage_widths=plan.stage_widths(),
        coupled=coupled, removed_channels=silenced,
        params_ratio=params_after / counts['params'].total,
        flops_ratio=flops_after / flops_before, flops_before=flops_before,
        flops_after=flops_after, **record)


def _check_request(method: str, budget: float, min_keep: float,
                   measure: str, rank: Optional[str], coupled: bool) -> str:
    """Check :func:`prune_baseline`'s arguments; the ranking rule.

    Raises:
        KeyError / ValueError: As :func:`prune_baseline`.
    """
    if not 0 < budget <= 1:
        raise ValueError(f'budget must be in (0, 1], got {budget}')
    if not 0 <= min_keep <= 1:
        raise ValueError(f'min_keep must be in [0, 1], got {min_keep}')
    _check_measure(measure)
    rank = _resolve_rank(method, rank)
    if coupled and 'group' not in baseline_pruner(method).ranks:
        # the control mirrors astro's export, whose coupled mode ranks by
        # the group-normalized P, which a constant score cannot order
        raise ValueError(f'{method}: ranks inner channels by their cost '
                         'only; it has no coupled mode')
    return rank


def _remove(graph: tp.DependencyGraph, groups: Sequence[ChannelGroup],
            removals: Sequence[Tuple[int, int]]
            ) -> Tuple[Dict[str, List[torch.Tensor]], Dict[str, List[int]]]:
    """Remove the channels ``removals`` names (group index, channel) with
    Torch-Pruning, in place.

    Returns:
        tuple: The kept channels by block (inner slots, in slot order) and
        by stage, and the removed stage channels by writer
        (:func:`~.coupled.removed_channels`).
    """
    removed = [set() for _ in groups]
    for i, j in removals:
        removed[i].add(j)
    keep = [torch.tensor(sorted(set(range(group.width)) - drop),
                         dtype=torch.long)
            for drop, group in zip(removed, groups)]
    kept = {}
    for group, kept_idxs in zip(groups, keep):
        if group.kind == 'inner':
            kept.setdefault(group.block, []).append(kept_idxs)
    stages = [(g, k) for g, k in zip(groups, keep) if g.kind == 'stage']
    silenced = removed_channels(*zip(*stages)) if stages else {}
    kept.update({g.name: [k] for g, k in stages})
    # stages first: their groups were taken from the unpruned graph, whose
    # modules Torch-Pruning shrinks in place
    prune_groups(graph, [g for g, _ in stages], [k for _, k in stages])
    prune_groups(graph, [g for g in groups if g.kind == 'inner'],
                 [k for g, k in zip(groups, keep) if g.kind == 'inner'])
    return kept, silenced
