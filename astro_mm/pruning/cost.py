"""What a pruned backbone keeps: its parameters (or MACs) as a function of
the gates of its prunable units.

The family's strategy lists every tensor that pruning shrinks
(:meth:`~.strategies.PruningStrategy.cost_terms`); a tensor gated on its
output by slot a and on its input by slot b keeps
``sum(g_a) * sum(g_b) * per_pair`` elements. With hard (0 / 1) gates that
is exactly the parameter count pruning leaves (``FamilyPlan.prune_units``); with
P in (0, 1) it is the expected kept cost r(P) the budget-aware mode drives
to its target (METHOD.md), differentiable in P.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .strategies import CostTerm


# what a budget is a share of: the backbone's parameters or multiply-adds
MEASURES = ('params', 'flops')


def output_positions(backbone: nn.Module, input_shape: Sequence[int]
                      ) -> Dict[str, int]:
    """Spatial positions (or tokens) of every conv / linear output, by
    module name, for one image of ``input_shape`` (C, H, W)."""
    positions, handles = {}, []
    for name, module in backbone.named_modules():
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):

            def record(mod, inputs, output, name=name):
                out = output[0] if isinstance(output, tuple) else output
                if isinstance(mod, nn.Linear):
                    positions[name] = out[0].numel() // out.shape[-1]
                else:
                    positions[name] = out[0, 0].numel()

            handles.append(module.register_forward_hook(record))
    was_training = backbone.training
    try:
        backbone.eval()
        with torch.no_grad():
            backbone(torch.zeros(1, *input_shape))
    finally:
        backbone.train(was_training)
        for handle in handles:
            handle.remove()
    return positions


class KeptCost:
    """The kept share of a backbone's parameters (or MACs) given per-unit
    gates of its modulated prunable layers.

    Args:
        plan (FamilyPlan): The (unpruned) backbone's family plan
            (:func:`astro_mm.families.resolve_family`).
        layer_names (Sequence[str]): Names of the modulated layers, in the
            order gates are given (``ModulatedLayer.name``). Slots that are
            not modulated count as fully kept.
        measure (str): ``'params'`` (default) or ``'flops'`` (multiply-adds of
            the convs and linears, for one image of ``input_shape``).
        input_shape (Sequence[int], optional): (C, H, W), for ``'flops'``.

    Raises:
        ValueError: Unknown ``measure``, ``'flops'`` without ``input_shape``, or
            no modulated layer is a prunable slot of the backbone's family.
    """

    def __init__(self, plan: 'FamilyPlan', layer_names: Sequence[str],
                 measure: str = 'params',
                 input_shape: Optional[Sequence[int]] = None):
        if measure not in MEASURES:
            raise ValueError(f'measure must be one of {MEASURES}, got '
                             f'{measure!r}')
        if measure == 'flops' and input_shape is None:
            raise ValueError("measure='flops' needs input_shape=(C, H, W) of "
                             'the images the backbone sees')
        backbone, strategy = plan.backbone, plan.strategy
        index = {name: i for i, name in enumerate(layer_names)}
        positions = (output_positions(backbone, input_shape)
                     if measure == 'flops' else None)
        terms: List[Tuple[int, int, int, int, float]] = []
        variable = 0.0
        for block_name, block in plan.blocks.items():
            slots = [index.get(name, -1) for name in plan.slots[block_name]]
            for term in strategy.cost_terms(block):
                weight = self._weight(term, f'{block_name}.{term.module}',
                                      positions)
                if weight == 0:
                    continue
                out_layer = -1 if term.out_slot is None else slots[term.out_slot]
                in_layer = -1 if term.in_slot is None else slots[term.in_slot]
                terms.append((out_layer, term.out_units, in_layer,
                              term.in_units, weight))
                variable += term.out_units * term.in_units * weight
        if not any(o >= 0 or i >= 0 for o, _, i, _, _ in terms):
            raise ValueError(
                f'none of the modulated layers ({", ".join(layer_names)}) is '
                f'a prunable slot of {strategy.family}: nothing to budget')
        self.measure = measure
        self.total = float(self._total(backbone, positions))
        self.fixed = self.total - variable
        self.num_layers = len(layer_names)
        self._terms = terms

    @staticmethod
    def _weight(term: CostTerm, name: str, positions) -> float:
        if positions is None:
            return float(term.per_pair)
        return float(term.per_pair * positions[name]) if term.is_weight else 0.

    @staticmethod
    def _total(backbone, positions) -> float:
        if positions is None:
            return sum(p.numel() for p in backbone.parameters())
        return sum(module.weight.numel() * positions[name]
                   for name, module in backbone.named_modules()
                   if name in positions)

    def kept(self, gates: Sequence[torch.Tensor]) -> torch.Tensor:
        """Kept cost (parameters or MACs) for per-layer ``gates``.

        Args:
            gates (Sequence[Tensor]): One ``(units,)`` tensor per modulated
                layer, in ``layer_names`` order; 0 / 1 gates give the exact
                count of the pruned backbone, P in (0, 1) the expected one.
        """
        if len(gates) != self.num_layers:
            raise ValueError(f'expected gates for {self.num_layers} layers, '
                             f'got {len(gates)}')
        sums = [g.sum() for g in gates]
        kept = sums[0].new_tensor(self.fixed) if sums else torch.tensor(
            self.fixed)
        for out_layer, out_units, in_layer, in_units, weight in self._terms:
            out_count = sums[out_layer] if out_layer >= 0 else out_units
            in_count = sums[in_layer] if in_layer >= 0 else in_units
            kept = kept + out_count * in_count * weight
        return kept

    def ratio(self, gates: Sequence[torch.Tensor]) -> torch.Tensor:
        """Kept share of the backbone's cost, r(P)."""
        return self.kept(gates) / self.total

    def unit_costs(self, layer_units: Sequence[int]) -> List[torch.Tensor]:
        """The cost each unit owns in the unpruned backbone: how much the
        kept cost falls when that unit alone is removed."""
        gates = [torch.ones(units, requires_grad=True) for units in layer_units]
        grads = torch.autograd.grad(self.kept(gates), gates, allow_unused=True)
        return [torch.zeros(units) if g is None else g.detach()
                for g, units in zip(grads, layer_units)]
