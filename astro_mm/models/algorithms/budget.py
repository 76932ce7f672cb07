"""astro_mm's budget-aware mode: P that prunes to a target cost.

METHOD.md, "What the papers' objective cannot do": with the papers'
objective P stays where it starts. The budget-aware mode changes three
things, all here:

* **Hard gates.** The TNet runs with the gates pruning will realize,
  ``g = 1[P >= gate_threshold]`` (and the ``min_keep`` highest-P units of
  every layer, so no layer vanishes); Phi gets the straight-through gradient
  ``g + P - sg(P)``. Pruning then cuts at ``gate_threshold``: the exported
  network is the one W was trained in.
* **An augmented Lagrangian on the kept cost.** r(P) = (fixed + sum cost *
  P) / total (exactly: the kept share of the backbone's parameters or MACs,
  see :class:`~astro_mm.pruning.cost.KeptCost`). Phi minimizes
  ``lambda (r - t) + rho / 2 (r - t)^2`` with the straight-through value of
  the realized gates; lambda follows dual ascent on the equality r = t,
  ``lambda += multiplier_lr * (r - t)`` after each Phi-step (the method of
  multipliers), so the target is met without a hand-tuned weight. The
  quadratic term is the damping: with lambda alone (an integral
  controller) and an Adam-stepped MNet, whose steps do not shrink as r
  nears t, r overshot the target far and oscillated on the toy task of
  tests/models/test_budget_mode.py, which holds the converged behaviour. Equality, not r <= t: the task
  gradient of a gate is noisy in sign (behind a training-mode batch norm a
  layer's gates sum to zero gradient), so nothing else would hold r up
  once it has fallen below t; a negative lambda does.
* **No sharpening.** P = sigmoid(z) of the logit z. A sharpened
  P = sigmoid(beta z) (beta annealed from 1 to 50, once here) changed no
  gate: at the threshold 0.5 the gate is the sign of z whatever beta, the
  ``min_keep`` ranking is the order of z, and the straight-through gradient
  is taken in z (on the toy task of tests/models/test_budget_mode.py the
  training was bit for bit the same with and without it). It only moved
  P itself towards 0 or 1 (the logged P, and the scores a
  ``--param-budget`` re-export ranks), so it was removed (issue 25);
  ``sharpness`` in a budget config is an error.
"""
import logging
import math
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import nn

from astro_mm.pruning.cost import KeptCost


# keys a budget config once had, and why they are gone
# former key names -> their names now (read with a warning)
RENAMED_KEYS = {'cost': 'measure'}
REMOVED_KEYS = {
    'sharpness': (
        'P = sigmoid(beta * z) gated at 0.5 is on exactly when z >= 0 and '
        'the straight-through gradient is taken in z, so beta changed no '
        'gate (issue 25); P is sigmoid(z) now: delete the key'),
}


class UnitBudget(nn.Module):
    """The budget-aware mode's gates and cost constraint.

    Args:
        target (float): t, the share of the backbone's cost to keep, in
            (0, 1].
        measure (str): What ``target`` is a share of: ``'params'``
            (default) or ``'flops'`` (formerly ``cost``).
        input_shape (Sequence[int], optional): (C, H, W), for ``'flops'``.
        gate_threshold (float): A unit is on when P >= this (default 0.5).
        min_keep (float): Share of every layer's units kept on whatever
            their P (at least one unit; default 0.05).
        multiplier_lr (float): Step of lambda's dual ascent (default 0.01).
        penalty (float): rho of the augmented Lagrangian (default 20): the
            proportional pull towards t that damps lambda's integral one.

    Raises:
        ValueError: A value out of range, or a removed key
            (``sharpness``: :data:`REMOVED_KEYS` says why).
        TypeError: An unknown key.
    """

    def __init__(self,
                 target: float,
                 measure: str = 'params',
                 input_shape: Optional[Sequence[int]] = None,
                 gate_threshold: float = 0.5,
                 min_keep: float = 0.05,
                 multiplier_lr: float = 0.01,
                 penalty: float = 20.,
                 **unknown):
        super().__init__()
        for old, new in RENAMED_KEYS.items():
            if old in unknown:
                if measure != 'params':
                    raise ValueError(f'model.budget has both {old} (the '
                                     f'former name of {new}) and {new}')
                print_log(f'model.budget.{old} is now model.budget.{new}',
                          logger='current', level=logging.WARNING)
                measure = unknown.pop(old)
        for key in unknown:
            if key in REMOVED_KEYS:
                raise ValueError(f'model.budget.{key} was removed: '
                                 f'{REMOVED_KEYS[key]}')
        if unknown:
            raise TypeError(
                f'unknown model.budget keys {sorted(unknown)}; expected '
                'target, measure, input_shape, gate_threshold, min_keep, '
                'multiplier_lr, penalty')
        if not 0 < target <= 1:
            raise ValueError(f'budget target must be in (0, 1], got {target}')
        if not 0 < gate_threshold < 1:
            raise ValueError('budget gate_threshold must be in (0, 1), got '
                             f'{gate_threshold}')
        if not 0 <= min_keep <= 1:
            raise ValueError(f'budget min_keep must be in [0, 1], got {min_keep}')
        if multiplier_lr <= 0:
            raise ValueError('budget multiplier_lr must be > 0, got '
                             f'{multiplier_lr}')
        self.target = float(target)
        self.measure = measure
        self.input_shape = input_shape
        self.gate_threshold = float(gate_threshold)
        self.min_keep = float(min_keep)
        self.multiplier_lr = float(multiplier_lr)
        self.penalty = float(penalty)
        self.kept_cost: Optional[KeptCost] = None
        # persistent: a resumed run and the export see the same P and lambda
        self.register_buffer('multiplier', torch.tensor(0.))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints from before beta's removal hold its buffer: their
        # gates (z >= 0) are the same without it
        state_dict.pop(prefix + 'sharpness', None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def bind(self, plan: 'FamilyPlan', layer_names: Sequence[str]) -> None:
        """Build the cost model of the modulated layers of the backbone
        ``plan`` (its family plan) describes."""
        self.kept_cost = KeptCost(plan, layer_names, self.measure,
                                  self.input_shape)

    def probabilities(self, logits: Sequence[torch.Tensor]
                      ) -> List[torch.Tensor]:
        """P = sigmoid(z) of every unit."""
        return [torch.sigmoid(z) for z in logits]

    @torch.no_grad()
    def hard_gates(self, probs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """0 / 1 per unit: P above the threshold, or among the
        ``min_keep`` best of its layer."""
        gates = []
        for p in probs:
            # >=: the export keeps P >= its threshold, the same units
            gate = (p >= self.gate_threshold).to(p.dtype)
            floor = max(1, math.ceil(self.min_keep * p.numel()))
            gate[p.topk(min(floor, p.numel())).indices] = 1
            gates.append(gate)
        return gates

    def gates(self, logits: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """Hard gates, with a straight-through gradient that does not
        vanish far from the threshold: d gate / d z = softsign'(z - z_0) =
        1 / (1 + |z - z_0|)^2 (a sigmoid's would, and a unit pushed far off
        could never come back when the budget needs it)."""
        hard = self.hard_gates(self.probabilities(logits))
        # the logit where P crosses the threshold (0 at 0.5)
        shift = math.log(self.gate_threshold / (1 - self.gate_threshold))
        return [h + F.softsign(z - shift) - F.softsign(z - shift).detach()
                for h, z in zip(hard, logits)]

    def loss(self, logits: Sequence[torch.Tensor]) -> torch.Tensor:
        """The augmented Lagrangian lambda (r - t) + rho / 2 (r - t)^2 of
        the realized gates, with the straight-through gradient."""
        excess = self.kept_cost.ratio(self.gates(logits)) - self.target
        return self.multiplier * excess + self.penalty / 2 * excess**2

    @torch.no_grad()
    def kept_ratio(self, probs: Sequence[torch.Tensor]) -> float:
        """r of the gates the TNet runs with."""
        return float(self.kept_cost.ratio(self.hard_gates(probs)))

    @torch.no_grad()
    def update_multiplier(self, kept_ratio: float) -> None:
        """Dual ascent on lambda for the constraint r = t."""
        self.multiplier.add_(self.multiplier_lr * (kept_ratio - self.target))
