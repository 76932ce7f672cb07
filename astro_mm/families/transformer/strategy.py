"""Physical pruning of vision transformers: FFN hidden neurons and heads.

* **FFN hidden neurons**: P scales the first linear's outputs (before the
  activation, so it folds into that linear's rows and bias, and GELU(0) =
  0); removing a neuron drops a row of fc1 and a column of fc2.
* **Attention heads**: P scales each head's slice of the attention output,
  the input of ``proj`` (folded into proj's columns); removing a head drops
  its q, k and v rows of ``qkv`` and its columns of ``proj``, and the
  module's head count.

Both leave the residual stream's width alone. Supported blocks: mmpretrain's
``TransformerEncoderLayer`` (ViT: FFN and heads) and ``SwinBlock`` (FFN
only: its ``WindowMSA`` takes the head width from the residual width, so
heads with P < delta are folded to zero but not removed), timm's ViT
``Block`` (Mlp and heads).
"""
from typing import List, Optional, Tuple

import torch
from torch import nn

from astro_mm.pruning.slicing import prune_linear
from astro_mm.pruning.strategies import (PruningStrategy, layer_cost_terms,
                                         loaded_class)


def _is_mmcv_ffn(module) -> bool:
    ffn_class = loaded_class('mmcv.cnn.bricks.transformer', 'FFN')
    return ffn_class is not None and isinstance(module, ffn_class)


def _ffn_linears(block: nn.Module) -> Optional[Tuple[str, str]]:
    """Names (in the block) of the FFN's first and second linear."""
    ffn = getattr(block, 'ffn', None)
    if _is_mmcv_ffn(ffn) and len(ffn.layers) >= 2 and isinstance(
            ffn.layers[0], nn.Sequential) and isinstance(
                ffn.layers[0][0], nn.Linear) and isinstance(
                    ffn.layers[1], nn.Linear):
        return 'ffn.layers.0.0', 'ffn.layers.1'
    mlp = getattr(block, 'mlp', None)  # timm's Mlp
    if mlp is not None and isinstance(getattr(mlp, 'fc1', None), nn.Linear) \
            and isinstance(getattr(mlp, 'fc2', None), nn.Linear) \
            and isinstance(getattr(mlp, 'norm', nn.Identity()), nn.Identity):
        return 'mlp.fc1', 'mlp.fc2'
    return None


def _has_prunable_heads(block: nn.Module) -> bool:
    attn = getattr(block, 'attn', None)
    mmpretrain_attention = loaded_class('mmpretrain.models.utils.attention',
                                        'MultiheadAttention')
    timm_attention = loaded_class('timm.layers', 'Attention')
    if mmpretrain_attention is not None and isinstance(
            attn, mmpretrain_attention):
        return not attn.v_shortcut
    if timm_attention is not None and isinstance(attn, timm_attention):
        # a norm over the attention output or a gate would need slicing too
        return isinstance(attn.norm, nn.Identity) and \
            getattr(attn, 'gate', None) is None
    return False


def _head_dims(attn: nn.Module) -> int:
    return attn.proj.in_features // attn.num_heads


def _prune_heads(attn: nn.Module, kept: torch.Tensor) -> None:
    heads, dims = attn.num_heads, _head_dims(attn)
    per_head = kept[:, None] * dims + torch.arange(dims)  # (kept, dims)
    # qkv's outputs are laid out (3, heads, head_dims)
    rows = (torch.arange(3)[:, None, None] * heads * dims + per_head).flatten()
    prune_linear(attn.qkv, out_keep=rows)
    prune_linear(attn.proj, in_keep=per_head.flatten())
    attn.num_heads = int(kept.numel())
    # the attention output's width: mmpretrain's embed_dims, timm's attn_dim
    width_attr = 'attn_dim' if hasattr(attn, 'attn_dim') else 'embed_dims'
    setattr(attn, width_attr, attn.num_heads * dims)


class TransformerPruning(PruningStrategy):
    """Slots per block: ``attn`` (heads, where removable), then the FFN's
    first linear (``ffn.layers.0.0`` / timm's ``mlp.fc1``)."""
    family = 'transformer FFN / attention heads'

    def blocks(self, backbone):
        return {name: module for name, module in backbone.named_modules()
                if _ffn_linears(module) is not None or
                _has_prunable_heads(module)}

    def slots(self, block) -> List[str]:
        slots = ['attn'] if _has_prunable_heads(block) else []
        ffn = _ffn_linears(block)
        return slots + ([ffn[0]] if ffn else [])

    def widths(self, block):
        return [block.attn.num_heads if slot == 'attn' else
                block.get_submodule(slot).out_features
                for slot in self.slots(block)]

    def prune(self, block, keep):
        for slot, kept in zip(self.slots(block), keep):
            if slot == 'attn':
                _prune_heads(block.attn, kept)
                continue
            fc1, fc2 = _ffn_linears(block)
            prune_linear(block.get_submodule(fc1), out_keep=kept)
            prune_linear(block.get_submodule(fc2), in_keep=kept)
            if _is_mmcv_ffn(getattr(block, 'ffn', None)):
                block.ffn.feedforward_channels = int(kept.numel())

    def cost_terms(self, block):
        terms = []
        for index, slot in enumerate(self.slots(block)):
            if slot == 'attn':
                attn, dims = block.attn, _head_dims(block.attn)
                terms += layer_cost_terms('attn.qkv', attn.qkv, out_slot=index,
                                          out_group=3 * dims)
                terms += layer_cost_terms('attn.proj', attn.proj,
                                          in_slot=index, out_group=dims)
                continue
            fc1, fc2 = _ffn_linears(block)
            terms += layer_cost_terms(fc1, block.get_submodule(fc1),
                                      out_slot=index)
            terms += layer_cost_terms(fc2, block.get_submodule(fc2),
                                      in_slot=index)
        return terms
