"""Physical pruning of DenseNet backbones: the bottleneck channels.

Each dense layer is ``norm1 -> act -> conv1 (1x1, bn_size * k) -> norm2 ->
act -> conv2 (3x3, k)``; its ``k`` new features are concatenated to the
block's. The modulated units are conv1's outputs, P folded into norm2 (see
:mod:`.family`); removing one shrinks conv1,
norm2 and conv2's input channels. The growth rate, hence every width the
concatenation sees, stays: transitions and later layers are untouched.

Works for mmpretrain's ``DenseNet`` and astro_mm's ``DenseNet_CIFAR``.
"""
from torch import nn

from astro_mm.pruning.slicing import prune_conv, prune_norm
from astro_mm.pruning.strategies import (PruningStrategy, layer_cost_terms,
                                         loaded_class)


def _is_dense_layer(module: nn.Module) -> bool:
    # by class: a ResNet BasicBlock has the same conv / norm names and, in
    # its first stage, the same widths
    dense_layer = loaded_class('mmpretrain.models.backbones.densenet',
                               'DenseLayer')
    return dense_layer is not None and isinstance(module, dense_layer)


class DenseNetPruning(PruningStrategy):
    """Bottleneck channels of dense layers; one slot, ``conv1``."""
    family = 'DenseNet dense layers'

    def blocks(self, backbone):
        return {name: module for name, module in backbone.named_modules()
                if _is_dense_layer(module)}

    def slots(self, block):
        return ['conv1']

    def widths(self, block):
        return [block.conv1.out_channels]

    def prune(self, block, keep):
        kept, = keep
        prune_conv(block.conv1, out_keep=kept)
        prune_norm(block.norm2, kept)
        prune_conv(block.conv2, in_keep=kept)

    def cost_terms(self, block):
        return (layer_cost_terms('conv1', block.conv1, out_slot=0) +
                layer_cost_terms('norm2', block.norm2, out_slot=0) +
                layer_cost_terms('conv2', block.conv2, in_slot=0))
