"""Keep the units in ``keep`` of a conv / linear / norm layer, in place.

The family strategies (:mod:`.strategies`) name the units to *keep* per
slot; the tensor surgery itself is Torch-Pruning's: its functional pruners
(``tp.prune_conv_out_channels`` ...) remove index lists from a layer in
place, weights, biases, norm statistics and the size attributes alike.
They are the same functions its dependency graph calls for a group, so
the inner-only export, the rebuild of a pruned backbone, the coupled
export and the baselines (:mod:`.coupled`, :mod:`.baselines`) share one
slicing path. What stays astro_mm's own is what Torch-Pruning does not
know: which units of a block form a slot (the strategies, since an
inner-only rebuild from a checkpoint's widths needs no traced graph), and
the folding of P (:mod:`.folding`).
"""
from typing import Optional

import torch
import torch_pruning as tp
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def _removed(keep: torch.Tensor, size: int, name: str) -> list:
    """The indices of ``range(size)`` not in ``keep`` (what Torch-Pruning's
    pruners take).

    Raises:
        ValueError: ``keep`` holds an index outside ``range(size)``.
    """
    keep = torch.as_tensor(keep, dtype=torch.long).flatten()
    if keep.numel() and (int(keep.min()) < 0 or int(keep.max()) >= size):
        raise ValueError(f'{name}: units to keep {keep.tolist()} are not all '
                         f'in range({size})')
    mask = torch.ones(size, dtype=torch.bool)
    mask[keep] = False
    return mask.nonzero().flatten().tolist()


def prune_conv(conv: nn.Conv2d, out_keep: Optional[torch.Tensor] = None,
               in_keep: Optional[torch.Tensor] = None) -> nn.Conv2d:
    """Restrict ``conv`` to output filters ``out_keep`` and input channels
    ``in_keep`` (None: all), in place. Returns ``conv``.

    Raises:
        ValueError: ``conv`` is grouped (its channels belong to groups), or
            an index is out of range.
    """
    if conv.groups != 1:
        raise ValueError(f'cannot prune a grouped conv ({conv}): its channels '
                         'belong to groups; only groups=1 convs are pruned')
    if out_keep is not None:
        removed = _removed(out_keep, conv.out_channels, 'conv outputs')
        if removed:
            tp.prune_conv_out_channels(conv, removed)
    if in_keep is not None:
        removed = _removed(in_keep, conv.in_channels, 'conv inputs')
        if removed:
            tp.prune_conv_in_channels(conv, removed)
    return conv


def prune_linear(linear: nn.Linear, out_keep: Optional[torch.Tensor] = None,
                 in_keep: Optional[torch.Tensor] = None) -> nn.Linear:
    """Restrict ``linear`` to outputs ``out_keep`` and inputs ``in_keep``
    (None: all), in place. Returns ``linear``."""
    if out_keep is not None:
        removed = _removed(out_keep, linear.out_features, 'linear outputs')
        if removed:
            tp.prune_linear_out_channels(linear, removed)
    if in_keep is not None:
        removed = _removed(in_keep, linear.in_features, 'linear inputs')
        if removed:
            tp.prune_linear_in_channels(linear, removed)
    return linear


def prune_norm(norm: _BatchNorm, keep: torch.Tensor) -> _BatchNorm:
    """Restrict a batch norm to the channels ``keep`` (statistics and
    affine), in place. Returns ``norm``."""
    removed = _removed(keep, norm.num_features, 'norm channels')
    if removed:
        tp.prune_batchnorm_out_channels(norm, removed)
    return norm

