"""Physical pruning of ResNet backbones, and their rebuilding from widths.

Scope (METHOD.md's default): the inner channels of residual blocks, i.e. the
outputs of every conv of a block but the last (BasicBlock: conv1; Bottleneck:
conv1 and conv2). Removing such a unit shrinks the conv, its batch norm, and
the input channels of the next conv; block output widths stay, so a
detector's neck needs no change.

Folding: P acts after the batch norm that follows each modulated conv, so
``P * (gamma * x_hat + beta)`` becomes a batch norm with ``P * gamma`` and
``P * beta``. In eval mode the exported plain network then computes exactly
what the modulated one computes with P thresholded (units with P < delta set
to 0): a removed unit's output is relu(0) = 0, which is what the next conv
would have read.

Works for mmpretrain's ``ResNet`` / ``ResNet_CIFAR`` and mmdet's ``ResNet``
(their blocks share the conv{i} / norm{i} layout).
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from astro_mm.registry import MODELS


def residual_blocks(backbone: nn.Module) -> Dict[str, nn.Module]:
    """Blocks with convs conv1..convN and norms norm1..normN, by name."""
    blocks = {}
    for name, module in backbone.named_modules():
        if hasattr(module, 'conv1') and hasattr(module, 'conv2') and hasattr(
                module, 'norm1'):
            blocks[name] = module
    if not blocks:
        raise ValueError(f'{type(backbone).__name__} has no residual block '
                         'with conv1/norm1, conv2/norm2 (a ResNet) to prune')
    return blocks


def _num_convs(block: nn.Module) -> int:
    return 3 if hasattr(block, 'conv3') else 2


def inner_widths(backbone: nn.Module) -> Dict[str, List[int]]:
    """Inner widths of every residual block: ``{'layer1.0': [64], ...}``."""
    return {
        name: [getattr(block, f'conv{i}').out_channels
               for i in range(1, _num_convs(block))]
        for name, block in residual_blocks(backbone).items()
    }


def _norm_name(block: nn.Module, index: int) -> str:
    return getattr(block, f'norm{index}_name', f'bn{index}')


def _slice_conv(conv: nn.Conv2d, out_keep=None, in_keep=None) -> nn.Conv2d:
    weight = conv.weight.detach()
    if out_keep is not None:
        weight = weight[out_keep]
    if in_keep is not None:
        weight = weight[:, in_keep]
    new = nn.Conv2d(weight.shape[1] * conv.groups, weight.shape[0],
                    conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None)
    new.weight.data.copy_(weight)
    if conv.bias is not None:
        bias = conv.bias.detach()
        new.bias.data.copy_(bias[out_keep] if out_keep is not None else bias)
    return new


def _slice_norm(norm: _BatchNorm, keep) -> _BatchNorm:
    new = type(norm)(int(keep.numel()), norm.eps, norm.momentum, norm.affine,
                     norm.track_running_stats)
    for key in ('weight', 'bias', 'running_mean', 'running_var'):
        source = getattr(norm, key)
        if source is not None:
            getattr(new, key).data.copy_(source.detach()[keep])
    if norm.num_batches_tracked is not None:
        new.num_batches_tracked.copy_(norm.num_batches_tracked)
    return new


def fold_probs(backbone: nn.Module, probs: Dict[str, torch.Tensor]) -> None:
    """Multiply each modulated layer's P into the batch norm that follows it.

    Args:
        backbone (nn.Module): Changed in place.
        probs (dict): P per modulated layer, keyed by the *scale module's*
            name (the norm), e.g. ``{'layer1.0.bn1': tensor}``.
    """
    modules = dict(backbone.named_modules())
    for name, p in probs.items():
        norm = modules[name]
        if not isinstance(norm, _BatchNorm) or not norm.affine:
            raise ValueError(f'{name}: P can only be folded into an affine '
                             f'batch norm, got {type(norm).__name__}')
        with torch.no_grad():
            norm.weight.mul_(p)
            norm.bias.mul_(p)


def prune_inner_channels(backbone: nn.Module,
                         keep: Dict[str, List[torch.Tensor]]) -> nn.Module:
    """Remove inner channels in place: ``keep[block][i]`` indexes the units
    of conv{i+1} that stay. Returns ``backbone``."""
    blocks = residual_blocks(backbone)
    for name, keeps in keep.items():
        block = blocks[name]
        for i, kept in enumerate(keeps, start=1):
            kept = torch.as_tensor(kept, dtype=torch.long)
            conv, nxt = getattr(block, f'conv{i}'), getattr(block, f'conv{i + 1}')
            setattr(block, f'conv{i}', _slice_conv(conv, out_keep=kept))
            setattr(block, f'conv{i + 1}', _slice_conv(nxt, in_keep=kept))
            norm_name = _norm_name(block, i)
            setattr(block, norm_name, _slice_norm(getattr(block, norm_name), kept))
    return backbone


def _check_widths_on_load(module, state_dict, prefix, *args) -> None:
    """Refuse a checkpoint whose tensor shapes differ from the module's."""
    own = module.state_dict()
    for key, value in own.items():
        incoming = state_dict.get(prefix + key)
        if incoming is not None and hasattr(incoming, 'shape') and \
                tuple(incoming.shape) != tuple(value.shape):
            layer = key.rsplit('.', 1)[0]
            raise ValueError(
                f'checkpoint does not match the pruned widths of the config: '
                f'layer {layer} ({prefix + key}) has shape '
                f'{tuple(incoming.shape)} in the checkpoint but '
                f'{tuple(value.shape)} in the model built from the config '
                '(widths); use the config written by tools/prune.py')


def shrink_to_widths(backbone: nn.Module,
                     widths: Dict[str, Sequence[int]]) -> nn.Module:
    """Give a freshly built ResNet the inner widths of a pruned one.

    Raises:
        ValueError: ``widths`` names a block the backbone lacks, or gives the
            wrong number of inner widths, or a width outside [1, original].
    """
    blocks = residual_blocks(backbone)
    for name, block_widths in widths.items():
        if name not in blocks:
            raise ValueError(f'widths name block {name!r}, which '
                             f'{type(backbone).__name__} does not have')
        block = blocks[name]
        if len(block_widths) != _num_convs(block) - 1:
            raise ValueError(f'block {name} has {_num_convs(block) - 1} inner '
                             f'widths, got {list(block_widths)}')
        keep = []
        for i, width in enumerate(block_widths, start=1):
            full = getattr(block, f'conv{i}').out_channels
            if not 1 <= width <= full:
                raise ValueError(f'{name}.conv{i}: width {width} outside '
                                 f'[1, {full}]')
            keep.append(torch.arange(width))
        prune_inner_channels(backbone, {name: keep})
    return backbone


def load_widths(source) -> Dict[str, List[int]]:
    """Widths given inline, or read from a checkpoint of tools/prune.py.

    Raises:
        KeyError: The checkpoint has no ``meta.pruned_widths``.
    """
    if isinstance(source, dict):
        return {k: list(v) for k, v in source.items()}
    from astro_mm.compat import load_checkpoint_file
    meta = load_checkpoint_file(str(source), map_location='cpu').get('meta', {})
    if 'pruned_widths' not in meta:
        raise KeyError(f'{source} has no meta.pruned_widths: not a checkpoint '
                       'written by tools/prune.py')
    return meta['pruned_widths']


@MODELS.register_module(name='PrunedResNet')
def build_pruned_resnet(base: dict,
                        widths,
                        init_cfg: Optional[dict] = None) -> nn.Module:
    """A ResNet of mmpretrain / mmdet with the inner widths of a pruned one.

    Returns the base class itself (same module names and state_dict keys),
    so it works wherever the base works; a checkpoint whose shapes do not
    match ``widths`` raises a ValueError naming the first mismatched layer.

    Args:
        base (dict): The unpruned backbone, e.g.
            ``dict(type='mmdet.ResNet', depth=18, ...)``.
        widths (dict | str): Inner widths per block, or the path of a
            checkpoint written by tools/prune.py (read from its meta).
        init_cfg (dict, optional): Passed to the base (e.g. ``Pretrained``
            with the pruned checkpoint).
    """
    base = copy.deepcopy(dict(base))
    if init_cfg is not None:
        base['init_cfg'] = init_cfg
    backbone = shrink_to_widths(MODELS.build(base), load_widths(widths))
    backbone._register_load_state_dict_pre_hook(
        _check_widths_on_load, with_module=True)
    return backbone
