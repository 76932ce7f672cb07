"""Fold P into the weights: the plain network computes the modulated one.

Where P acts decides where it is folded (see
:class:`astro_mm.models.modulated.UnitScaler`):

* after an affine norm (BN, GN, LN): ``P * (gamma * x_hat + beta)`` is that
  norm with ``P * gamma`` and ``P * beta``;
* on a conv / linear output with no norm after it: the unit's weight row
  and bias times P;
* on a head (the slice of ``proj``'s input): proj's columns of that head
  times P.

All three are exact, in eval and in training mode.
"""
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

_AFFINE_NORMS = (_BatchNorm, nn.GroupNorm, nn.LayerNorm)


@torch.no_grad()
def fold_unit_probs(name: str, kind: str, scale_module: nn.Module,
                    probs: torch.Tensor) -> None:
    """Multiply ``probs`` into ``scale_module`` in place.

    Args:
        name (str): The modulated layer's name, for messages.
        kind (str): ``'channel'`` or ``'head'`` (ModulatedLayer.kind).
        scale_module (nn.Module): The module P acts on (ModulatedLayer's
            ``scale_module``, in the network to change).
        probs (Tensor): One P per unit.

    Raises:
        ValueError: P acts on a module it cannot be folded into (a norm
            without affine parameters, or another module type).
    """
    probs = probs.detach().to(next(scale_module.parameters()).dtype)
    if kind == 'head':
        dims = scale_module.in_features // probs.numel()
        scale_module.weight.mul_(probs.repeat_interleave(dims))
        return
    if isinstance(scale_module, _AFFINE_NORMS):
        if scale_module.weight is None or scale_module.bias is None:
            raise ValueError(
                f'{name}: P acts after {type(scale_module).__name__} without '
                'affine parameters, where it cannot be folded into weights')
        scale_module.weight.mul_(probs)
        scale_module.bias.mul_(probs)
    elif isinstance(scale_module,
                    (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
        shape = (-1, ) + (1, ) * (scale_module.weight.dim() - 1)
        scale_module.weight.mul_(probs.view(shape))
        if scale_module.bias is not None:
            scale_module.bias.mul_(probs)
    else:
        raise ValueError(f'{name}: cannot fold P into a '
                         f'{type(scale_module).__name__}; expected an affine '
                         'norm, a conv or a linear layer')
