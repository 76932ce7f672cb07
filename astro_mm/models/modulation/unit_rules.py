"""Which units each backbone family modulates by default.

Most backbones need no rule: every conv / linear but the stem is modulated,
P acting after the norm registered right after it (ResNets of mmpretrain,
mmdet and timm). The families below differ, and the reason is always the
same: P must keep a gradient in training mode and must scale a unit whose
removal leaves block output widths unchanged (METHOD.md, Modulation and
Pruning).

* **DenseNet** (pre-activation, BN-ReLU-Conv, features concatenated): every
  conv output that reaches the next layer goes first through a per-channel
  batch norm (the next layers' ``norm1``, the transition's ``norm``), which
  normalizes a scale away in training mode. Only the bottleneck 1x1 conv
  (``conv1``) has its *own* norm (``norm2``, registered after the block's
  ``act``), so P is applied there (folded into ``norm2``'s affine): the
  units are the ``bn_size * growth_rate`` bottleneck channels.
* **Vision transformers** (mmpretrain ``VisionTransformer`` /
  ``SwinTransformer``, timm ``VisionTransformer``): the FFN's hidden neurons
  (outputs of its first linear; no norm follows, P scales the linear's
  output before the activation, which folds exactly into its weight rows)
  and whole attention heads (P scales each head's slice of the attention
  output, i.e. the input of ``proj``). qkv, proj, fc2 and the patch
  embedding write the residual stream and are left alone.

A rule is looked up by the backbone's class (or a base class), for timm
models wrapped by mmpretrain's ``TIMMBackbone`` by the class of its
``timm_model`` under the key ``timm.<ClassName>``.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from torch import nn


@dataclass(frozen=True)
class UnitRules:
    """The default modulated units of one backbone family.

    Attributes:
        include (tuple[str], optional): Regexes of the conv / linear layers
            whose output units are modulated; None: every conv / linear.
        norm_after (dict): For layers whose norm is not registered right
            after them: attribute name of the layer -> attribute name of the
            sibling norm that reads its output (DenseNet: conv1 -> norm2).
        attention (str, optional): Regex of the attention modules (with
            ``qkv``, ``proj`` and ``num_heads``) whose heads are units.
    """
    include: Optional[Tuple[str, ...]] = None
    norm_after: Dict[str, str] = field(default_factory=dict)
    attention: Optional[str] = None


_FFN_FC1 = r'\.ffn\.layers\.0\.0$'  # mmcv FFN: layers[0] = (fc1, act, drop)
UNIT_RULES: Dict[str, UnitRules] = {
    'DenseNet': UnitRules(
        include=(r'^stages\.\d+\.block\.\d+\.conv1$', ),
        norm_after={'conv1': 'norm2'}),
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
DEFAULT_RULES = UnitRules()


def unit_rules_for(backbone: nn.Module) -> UnitRules:
    """The :class:`UnitRules` of ``backbone``'s family (the most derived
    registered class wins), or :data:`DEFAULT_RULES`."""
    timm_model = getattr(backbone, 'timm_model', None)
    if isinstance(timm_model, nn.Module):
        prefix, classes = 'timm.', type(timm_model).__mro__
    else:
        prefix, classes = '', type(backbone).__mro__
    for cls in classes:
        rules = UNIT_RULES.get(prefix + cls.__name__)
        if rules is not None:
            return rules
    return DEFAULT_RULES
