"""The inner channels a prune keeps, applied two ways: removed from a copy
(the smaller network), or held at exactly zero in the live unpruned one
(the same function in the unpruned shape, for training in the pruned shape
before the physical prune).

``kept`` is what :func:`~.baselines.prune_baseline` returns in
:attr:`~.baselines.BaselinePruneResult.kept`: per block of the backbone,
one ``LongTensor`` of kept channel indices per inner slot, in slot order
(``{'layer1.0': [tensor([0, 2, 5, ...])], ...}``). The channel groups are
Torch-Pruning's (the family's ``channel_groups``): an inner conv's filters,
its norm, and the next conv's inputs.

* :func:`prune_to_kept` removes every other channel with Torch-Pruning's
  group pruning (:func:`~.coupled.prune_groups`, the path
  :func:`~.baselines.prune_baseline` takes).
* :class:`DeadChannels` zeroes the removed channels of a live network: the
  rows of each inner conv's weight (and bias), its norm's weight and bias,
  and the next conv's input columns, in the parameters, their gradients and
  the optimizer's per-parameter state. A network kept so computes exactly
  what the physically pruned one computes: a removed channel's norm outputs
  ``0 * x + 0`` whatever its statistics, and what reads it multiplies a
  zero column, so neither the activation nor the running statistics of a
  removed channel reach the output; the kept parameters get the gradients
  the pruned network would give them (the removed channels contribute 0).
"""
import copy
from typing import Dict, Iterable, List, Sequence, Tuple

import torch
from torch import nn
from torch.optim import Optimizer

from .baselines import BaselinePruneResult, _check_plain
from .coupled import (ChannelGroup, build_graph, cost_count, example_inputs,
                      params, prune_groups)
from .export import check_plan


# (parameter, dimension, removed indices): one zeroed slice
Slice = Tuple[nn.Parameter, int, torch.Tensor]


def _groups(plan: 'FamilyPlan', input_size: Sequence[int],
            what: str) -> Tuple[object, List[ChannelGroup]]:
    plan.require_coupled(what)
    backbone = plan.backbone
    graph = build_graph(backbone, example_inputs(backbone, input_size))
    return graph, plan.channel_groups(graph, what=what)


def match_kept(groups: Sequence[ChannelGroup],
               kept: Dict[str, Sequence[torch.Tensor]]
               ) -> List[torch.Tensor]:
    """The kept indices of every inner group, in ``groups``' order (sorted,
    on the CPU).

    Raises:
        ValueError: ``kept`` misses a block or names one the backbone lacks
            (a stage's, from a coupled prune), has the wrong number of
            slots for a block, or indices that are not unique, out of
            range or empty; the message names the block.
    """
    by_block: Dict[str, List[ChannelGroup]] = {}
    for group in groups:
        by_block.setdefault(group.block, []).append(group)
    unknown = sorted(set(kept) - set(by_block))
    missing = sorted(set(by_block) - set(kept))
    if unknown or missing:
        raise ValueError(
            f'kept channels name blocks {unknown} that have no inner slots '
            f'(stage channels of a coupled prune are not supported) and miss '
            f'blocks {missing}; expected exactly {sorted(by_block)}')
    keep = {}
    for block, block_groups in by_block.items():
        slots = list(kept[block])
        if len(slots) != len(block_groups):
            raise ValueError(f'kept[{block!r}] has {len(slots)} slots, the '
                             f'block has {len(block_groups)} inner convs')
        for group, idxs in zip(block_groups, slots):
            idxs = torch.as_tensor(idxs, dtype=torch.long).flatten().cpu()
            values = idxs.tolist()
            if not values or len(set(values)) != len(values) or \
                    min(values) < 0 or max(values) >= group.width:
                raise ValueError(
                    f'kept[{block!r}] for {group.name}: expected unique '
                    f'indices in [0, {group.width}), at least one, got '
                    f'{values}')
            keep[group.name] = idxs.sort().values
    return [keep[group.name] for group in groups]


def removed_slices(groups: Sequence[ChannelGroup],
                   keep: Sequence[torch.Tensor]) -> List[Slice]:
    """The slices of the parameters that carry removed channels: dim 0 of
    every parameter of a group's convs and norms, dim 1 of the weight of
    the conv that reads the group."""
    slices = []
    for group, kept in zip(groups, keep):
        removed = sorted(set(range(group.width)) - set(kept.tolist()))
        if not removed:
            continue
        for module in group.out_gated:
            for param in module.parameters(recurse=False):
                slices.append((param, 0, torch.tensor(
                    removed, dtype=torch.long, device=param.device)))
        for module in group.in_gated:
            weight = module.weight
            slices.append((weight, 1, torch.tensor(
                removed, dtype=torch.long, device=weight.device)))
    return slices


def prune_to_kept(model: nn.Module,
                  kept: Dict[str, Sequence[torch.Tensor]],
                  input_size: Sequence[int] = (32, 32),
                  require_dead: bool = False,
                  method: str = '',
                  *,
                  plan: 'FamilyPlan',
                  **record) -> BaselinePruneResult:
    """Prune a copy of a plain classifier's backbone to the given inner
    channels, with Torch-Pruning; ``model`` is left unchanged.

    Args:
        model (nn.Module): A plain classifier with a ResNet ``backbone``
            (e.g. one trained under ``astro_mm.EarlyPruningHook``).
        kept (dict): Kept channel indices per block and inner slot, as
            :attr:`~.baselines.BaselinePruneResult.kept` gives them.
        input_size (Sequence[int]): (H, W) of the image Torch-Pruning
            traces the backbone with.
        require_dead (bool): Refuse a model whose removed channels are not
            exactly zero (the prune then changes its function): a check
            that ``model`` was trained with these channels held dead.
        method (str): The name the result carries.
        plan (FamilyPlan): The family plan of ``model.backbone``.
        **record: What the result records of the prune that chose ``kept``
            (``measure``, ``rank``, ``budget``).

    Returns:
        BaselinePruneResult: The pruned classifier (eval mode), its inner
        and stage widths, backbone parameters and FLOPs (at
        ``input_size``) before / after and their kept shares, and ``kept``
        (no scores).

    Raises:
        TypeError / ValueError: Not a plain ResNet classifier (as
            :func:`~.baselines.prune_baseline`), ``kept`` does not fit the
            backbone (:func:`match_kept`), or with ``require_dead`` a
            removed channel that is not zero (the message names the
            parameter).
    """
    _check_plain(model)
    check_plan(plan, model.backbone)
    work = copy.deepcopy(model).eval()
    backbone = work.backbone
    plan = plan.bind(backbone)
    graph, groups = _groups(plan, input_size, 'prune_to_kept')
    keep = match_kept(groups, kept)
    if require_dead:
        names = {id(p): n for n, p in backbone.named_parameters()}
        for param, dim, idxs in removed_slices(groups, keep):
            largest = float(param.detach().index_select(dim, idxs).abs()
                            .max())
            if largest != 0:
                raise ValueError(
                    f'backbone.{names[id(param)]}: removed channels hold '
                    f'values up to {largest:.3g} (dim {dim}), expected 0: '
                    'the model was not trained with these channels dead')
    flops = cost_count(backbone, groups, 'flops', input_size)
    widths = [len(idxs) for idxs in keep]
    before = params(backbone)
    prune_groups(graph, groups, keep)
    for param in work.parameters():
        param.grad = None
    by_block: Dict[str, List[torch.Tensor]] = {}
    for group, idxs in zip(groups, keep):
        by_block.setdefault(group.block, []).append(idxs)
    after = params(backbone)
    return BaselinePruneResult(
        work.eval(), plan.inner_widths(), float('nan'), before, after,
        None, stage_widths=plan.stage_widths(), coupled=False,
        method=method, kept=by_block, params_ratio=after / before,
        flops_ratio=flops(widths) / flops.total, flops_before=flops.total,
        flops_after=flops(widths), **record)


class DeadChannels:
    """The removed inner channels of a live, unpruned classifier, held at
    exactly zero.

    Built once (Torch-Pruning traces the backbone, which draws one random
    example image: callers that must not move the global RNG fork it),
    then :meth:`zero_` after every optimizer step and :meth:`hold_gradients`
    for the time of training.

    Args:
        model (nn.Module): The live plain classifier (unwrapped).
        kept (dict): Kept channels, as :func:`prune_to_kept` takes them.
        input_size (Sequence[int]): (H, W) of the trace's example image.
        plan (FamilyPlan): The family plan of ``model.backbone``.

    Raises:
        ValueError: As :func:`match_kept`.
    """

    def __init__(self, model: nn.Module,
                 kept: Dict[str, Sequence[torch.Tensor]],
                 input_size: Sequence[int] = (32, 32), *,
                 plan: 'FamilyPlan'):
        check_plan(plan, model.backbone)
        _, groups = _groups(plan, input_size, 'DeadChannels')
        keep = match_kept(groups, kept)
        self.slices = removed_slices(groups, keep)
        self._handles = []

    @torch.no_grad()
    def zero_(self, optimizers: Iterable[Optimizer] = ()) -> None:
        """Zero the removed slices of the parameters, their gradients and
        every per-parameter state tensor (momentum, Adam's moments) of
        ``optimizers``."""
        states = [opt.state for opt in optimizers]
        for param, dim, idxs in self.slices:
            param.index_fill_(dim, idxs, 0)
            if param.grad is not None:
                param.grad.index_fill_(dim, idxs, 0)
            for state in states:
                for value in state.get(param, {}).values():
                    if torch.is_tensor(value) and \
                            value.shape == param.shape:
                        value.index_fill_(dim, idxs, 0)

    def hold_gradients(self) -> None:
        """Zero the removed slices of every gradient as autograd computes it
        (so gradient clipping and the optimizer see the pruned network's
        gradients). Idempotent; :meth:`release` undoes it."""
        if self._handles:
            return
        by_param = {}  # a conv can be gated on both dims (bottlenecks)
        for param, dim, idxs in self.slices:
            by_param.setdefault(id(param), (param, []))[1].append((dim, idxs))
        for param, fills in by_param.values():
            self._handles.append(param.register_hook(_zeroing(fills)))

    def release(self) -> None:
        """Remove the gradient hooks of :meth:`hold_gradients`."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _zeroing(fills: List[Tuple[int, torch.Tensor]]):

    def hook(grad: torch.Tensor) -> torch.Tensor:
        for dim, idxs in fills:
            grad = grad.index_fill(dim, idxs, 0)
        return grad

    return hook
