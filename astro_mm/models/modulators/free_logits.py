"""The ``gates`` control: one free learned logit per unit, no modulation
network.

Not an astrocyte: the ablation of one. In astro_mm's budget-aware mode
(:mod:`astro_mm.models.algorithms.budget`) it gets everything the
astrocyte MNets get, the same hard gates, straight-through gradient,
augmented Lagrangian, ``min_keep``, alternation and optimizer, but Phi is
one logit per modulated unit, learned directly. What the MNets add over it
is what reading the weights' descriptors (and, for MA-Net, the history)
adds.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from astro_mm.registry import MODELS
from .base import BaseModulator


@MODELS.register_module()
class FreeLogitsModulator(BaseModulator):
    """Phi = one learned logit per unit; the descriptors are ignored.

    Args:
        layer_units (Sequence[int]): Units of each modulated layer (filled in
            by the algorithm from the backbone).
        num_features (int): Descriptor features per unit; accepted (the
            algorithm passes it to every modulator) and unused.
        init_prob (float): P of every unit before training, the astrocyte
            MNets' default 0.95: every logit starts at logit(init_prob),
            where their shared biases start them.
    """

    def __init__(self,
                 layer_units: Sequence[int],
                 num_features: int = 2,
                 init_prob: float = 0.95,
                 init_cfg=None):
        super().__init__(layer_units, init_cfg)
        if not 0 < init_prob < 1:
            raise ValueError(
                f'FreeLogitsModulator init_prob must be in (0, 1), got '
                f'{init_prob}')
        start = math.log(init_prob / (1 - init_prob))
        self.logits = nn.ParameterList(
            nn.Parameter(torch.full((units, ), start))
            for units in self.layer_units)

    def forward(self,
                descriptors: List[torch.Tensor],
                previous: Optional[List[torch.Tensor]] = None,
                with_reg: bool = True
                ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
        """The logits, whatever the descriptors; no losses of its own.

        Args:
            descriptors (list[Tensor]): ``(units, F)`` per layer; only
                checked against the layer sizes.
            previous, with_reg: Unused (one interface for every modulator).

        Returns:
            tuple: one ``(units,)`` logit tensor per layer, and an empty
            dict.
        """
        if [len(d) for d in descriptors] != self.layer_units:
            raise ValueError(
                f'FreeLogitsModulator holds logits for layers of '
                f'{self.layer_units} units, got descriptors of '
                f'{[len(d) for d in descriptors]}')
        return list(self.logits), {}
