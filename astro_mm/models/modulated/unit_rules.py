"""Unit rules: which units of a backbone are modulated by default.

Most backbones need no rule: every conv / linear but the stem is modulated,
P acting after the norm registered right after it (ResNets of mmpretrain,
mmdet and timm). The families that differ (DenseNet-BC: the bottleneck
channels, P in ``norm2``; vision transformers: FFN hidden neurons and
attention heads) declare their rules in their family module
(:mod:`astro_mm.families`), keyed by backbone class name (timm models
wrapped by mmpretrain's ``TIMMBackbone``: ``timm.<ClassName>``). The reason
is always the same: P must keep a gradient in training mode and must scale
a unit whose removal leaves block output widths unchanged (METHOD.md,
Modulation and Pruning).
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple


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


DEFAULT_RULES = UnitRules()
