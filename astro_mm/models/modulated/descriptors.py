"""Weight descriptors: the global connection function G of the papers.

Each modulated layer is read as one descriptor row per unit: statistics of
|W| over the unit's fan-in (AstroNet supp. Tab. 3): the average (``avg``),
the largest connection (``max``), or both (``mix``, the default and best).

Choice (not in the papers): every statistic is divided by its mean over the
layer, so layers of very different fan-in give the modulator inputs of the
same scale (|W| of a 3x3x512 filter is ~30x smaller than of a 1x1x16 one).
"""
from typing import List, Sequence

import torch

from .modulated_layers import ModulatedLayer

DESCRIPTOR_MODES = {'avg': 1, 'max': 1, 'mix': 2}


def num_descriptor_features(mode: str) -> int:
    """Features per unit of the descriptor ``mode``."""
    if mode not in DESCRIPTOR_MODES:
        raise ValueError(f'descriptor must be one of {sorted(DESCRIPTOR_MODES)}'
                         f', got {mode!r}')
    return DESCRIPTOR_MODES[mode]


@torch.no_grad()
def weight_descriptors(layers: Sequence[ModulatedLayer],
                       mode: str = 'mix') -> List[torch.Tensor]:
    """One ``(num_units, F)`` tensor per layer, F = 1 (avg / max) or 2 (mix).

    The weights are read without gradient: W is frozen whenever the
    modulator is trained (Algorithm 1).
    """
    num_descriptor_features(mode)
    descriptors = []
    for layer in layers:
        weight = layer.unit_weights().detach().abs()
        stats = []
        if mode in ('avg', 'mix'):
            stats.append(weight.mean(1))
        if mode in ('max', 'mix'):
            stats.append(weight.amax(1))
        desc = torch.stack(stats, dim=1)
        descriptors.append(desc / desc.mean(0, keepdim=True).clamp_min(1e-12))
    return descriptors
