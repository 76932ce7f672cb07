"""Smaller copies of conv / linear / norm layers: the units in ``keep``.

Every function returns a new module (same type family, same device and
dtype) holding the kept rows / columns of the old one's parameters and
buffers; the caller puts it in place with :func:`set_submodule`.
"""
from typing import Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def slice_conv(conv: nn.Conv2d, out_keep: Optional[torch.Tensor] = None,
               in_keep: Optional[torch.Tensor] = None) -> nn.Conv2d:
    """``conv`` restricted to output filters ``out_keep`` and input channels
    ``in_keep`` (None: all).

    Raises:
        ValueError: ``conv`` is grouped (slicing its channels would mix the
            groups up).
    """
    if conv.groups != 1:
        raise ValueError(f'cannot slice a grouped conv ({conv}): its channels '
                         'belong to groups; only groups=1 convs are pruned')
    weight = conv.weight.detach()
    if out_keep is not None:
        weight = weight[out_keep]
    if in_keep is not None:
        weight = weight[:, in_keep]
    new = nn.Conv2d(weight.shape[1], weight.shape[0], conv.kernel_size,
                    conv.stride, conv.padding, conv.dilation, 1,
                    conv.bias is not None, conv.padding_mode,
                    device=weight.device, dtype=weight.dtype)
    new.weight.data.copy_(weight)
    if conv.bias is not None:
        bias = conv.bias.detach()
        new.bias.data.copy_(bias[out_keep] if out_keep is not None else bias)
    return new


def slice_linear(linear: nn.Linear, out_keep: Optional[torch.Tensor] = None,
                 in_keep: Optional[torch.Tensor] = None) -> nn.Linear:
    """``linear`` restricted to outputs ``out_keep`` and inputs ``in_keep``
    (None: all)."""
    weight = linear.weight.detach()
    if out_keep is not None:
        weight = weight[out_keep]
    if in_keep is not None:
        weight = weight[:, in_keep]
    new = nn.Linear(weight.shape[1], weight.shape[0], linear.bias is not None,
                    device=weight.device, dtype=weight.dtype)
    new.weight.data.copy_(weight)
    if linear.bias is not None:
        bias = linear.bias.detach()
        new.bias.data.copy_(bias[out_keep] if out_keep is not None else bias)
    return new


def slice_norm(norm: _BatchNorm, keep: torch.Tensor) -> _BatchNorm:
    """A batch norm of the channels ``keep`` (statistics and affine)."""
    new = type(norm)(int(keep.numel()), norm.eps, norm.momentum, norm.affine,
                     norm.track_running_stats)
    for key in ('weight', 'bias', 'running_mean', 'running_var'):
        source = getattr(norm, key)
        if source is not None:
            getattr(new, key).data.copy_(source.detach()[keep])
    if norm.num_batches_tracked is not None:
        new.num_batches_tracked.copy_(norm.num_batches_tracked)
    source = next(iter(norm.buffers()), None)
    return new if source is None else new.to(source.device)


def set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    """Replace the submodule ``name`` (dotted, relative to ``root``)."""
    parent, _, attr = name.rpartition('.')
    setattr(root.get_submodule(parent) if parent else root, attr, module)
