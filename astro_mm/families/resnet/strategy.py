"""Physical pruning of ResNet backbones.

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

Works for mmpretrain's ``ResNet`` / ``ResNet_CIFAR``, mmdet's ``ResNet``
(blocks with conv{i} / norm{i}) and timm's ResNets (conv{i} / bn{i}, also
through mmpretrain's ``TIMMBackbone``).
"""
from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from astro_mm.pruning.slicing import prune_conv, prune_norm
from astro_mm.pruning.strategies import PruningStrategy, layer_cost_terms


def norm_name(block: nn.Module, index: int) -> str:
    # mmpretrain / mmdet name their norms by norm{i}_name; timm uses bn{i}
    return getattr(block, f'norm{index}_name', f'bn{index}')


def is_residual_block(module: nn.Module) -> bool:
    conv1 = getattr(module, 'conv1', None)
    conv2 = getattr(module, 'conv2', None)
    if not (isinstance(conv1, nn.Conv2d) and isinstance(conv2, nn.Conv2d)):
        return False
    norm1 = getattr(module, norm_name(module, 1), None)
    # post-activation: the norm numbered 1 reads conv1's output (in a
    # pre-activation DenseNet layer norm1 reads the block's input instead)
    return isinstance(norm1, _BatchNorm) and \
        norm1.num_features == conv1.out_channels


def residual_blocks(backbone: nn.Module) -> Dict[str, nn.Module]:
    return {name: module for name, module in backbone.named_modules()
            if is_residual_block(module)}


def num_convs(block: nn.Module) -> int:
    return 3 if hasattr(block, 'conv3') else 2


def _prune_block(block: nn.Module, keeps: Sequence[torch.Tensor]) -> None:
    for i, kept in enumerate(keeps, start=1):
        prune_conv(getattr(block, f'conv{i}'), out_keep=kept)
        prune_conv(getattr(block, f'conv{i + 1}'), in_keep=kept)
        prune_norm(getattr(block, norm_name(block, i)), kept)


class ResNetPruning(PruningStrategy):
    """Inner channels of residual blocks; slots ``conv1`` (and ``conv2``
    in a Bottleneck). Declared by
    :class:`~astro_mm.families.resnet.ResNetFamily`."""
    family = 'ResNet residual blocks'

    def blocks(self, backbone):
        return residual_blocks(backbone)

    def slots(self, block):
        return [f'conv{i}' for i in range(1, num_convs(block))]

    def widths(self, block):
        return [getattr(block, slot).out_channels
                for slot in self.slots(block)]

    def prune(self, block, keep):
        _prune_block(block, keep)

    def cost_terms(self, block):
        last = num_convs(block)
        terms = []
        for i in range(1, last + 1):
            out_slot = i - 1 if i < last else None
            in_slot = i - 2 if i > 1 else None
            terms += layer_cost_terms(f'conv{i}', getattr(block, f'conv{i}'),
                                      out_slot, in_slot)
            if i < last:
                norm = norm_name(block, i)
                terms += layer_cost_terms(norm, getattr(block, norm), i - 1)
        return terms
