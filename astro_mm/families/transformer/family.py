"""The vision-transformer family: mmpretrain ``VisionTransformer`` and
``SwinTransformer``, timm ``VisionTransformer`` (through mmpretrain's
``TIMMBackbone``: its rules are keyed ``timm.<ClassName>``).

* Modulated: the FFN's hidden neurons (outputs of its first linear; no norm
  follows, P scales the linear's output before the activation, which folds
  exactly into its weight rows) and whole attention heads (P scales each
  head's slice of the attention output, the input of ``proj``). qkv, proj,
  fc2 and the patch embedding write the residual stream: left alone.
* Stage groups: ``layers.{i}`` (ViT), ``stages.{i}`` (Swin),
  ``timm_model.blocks.{i}``.
* Prunable: FFN hidden neurons and heads, inner only
  (:class:`~.strategy.TransformerPruning`;
  Swin's heads are folded, not removed).
* Grad-CAM: the last of ``stages`` / ``layers``.
"""
from astro_mm.models.modulated.unit_rules import UnitRules
from astro_mm.registry import FAMILIES
from ..base import BackboneFamily
from .strategy import TransformerPruning

_FFN_FC1 = r'\.ffn\.layers\.0\.0$'  # mmcv FFN: layers[0] = (fc1, act, drop)


@FAMILIES.register_module()
class TransformerFamily(BackboneFamily):
    """Transformer blocks with an FFN and / or removable heads."""
    name = 'transformer FFN / attention heads'
    priority = 20
    unit_rules = {
        'VisionTransformer': UnitRules(
            include=(r'^layers\.\d+' + _FFN_FC1, ),
            attention=r'^layers\.\d+\.attn$'),
        'SwinTransformer': UnitRules(
            include=(r'^stages\.\d+\.blocks\.\d+' + _FFN_FC1, ),
            attention=r'^stages\.\d+\.blocks\.\d+\.attn\.w_msa$'),
        'timm.VisionTransformer': UnitRules(
            include=(r'^timm_model\.blocks\.\d+\.mlp\.fc1$', ),
            attention=r'^timm_model\.blocks\.\d+\.attn$'),
    }
    strategy = TransformerPruning()
