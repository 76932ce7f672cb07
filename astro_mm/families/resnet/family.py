"""The ResNet family: mmpretrain ``ResNet`` / ``ResNetV1c`` /
``ResNet_CIFAR``, mmdet ``ResNet`` and timm ResNets (also through
mmpretrain's ``TIMMBackbone``); the backbone of the demo, the suites and
the detectors.

* Modulated: every conv but the stem, P after the batch norm registered
  right after it (the default rules).
* Stage groups: ``layer{i}`` (``timm_model.layer{i}``); a modulated stem
  (``exclude=[]``) joins ``layer1``'s.
* Prunable: the inner channels of residual blocks
  (:class:`~.strategy.ResNetPruning`) and,
  coupled, the channels of each stage's residual stream
  (:mod:`.channel_groups`, Torch-Pruning), and where the
  first block has a downsample (ResNet-50) the stem's output channels, a
  group of their own.
* Rebuilt: stage widths (and the stem's, where it is a group) with
  Torch-Pruning, then the inner widths; the stage widths are what FPN /
  ChannelMapper read (``sync_neck_widths``).
* Grad-CAM: the last residual stage.

Recognized by its blocks (convs conv1..convN with post-activation norms),
not its class: any registered ResNet variant with such blocks works.
"""
import re
from typing import Dict, List, Sequence

import torch
import torch_pruning as tp
from torch import nn

from astro_mm.pruning.coupled import ChannelGroup
from astro_mm.registry import FAMILIES
from ..base import DEFAULT_EXCLUDE, BackboneFamily
from . import channel_groups
from .strategy import ResNetPruning


@FAMILIES.register_module()
class ResNetFamily(BackboneFamily):
    """Residual blocks; tried last, its block pattern is the loosest."""
    name = 'ResNet residual blocks'
    priority = 100
    strategy = ResNetPruning()
    supports_coupled = True

    def stage_of(self, layer_name: str) -> str:
        # the stem (what is not modulated by default) feeds the first
        # stage: modulated (coupled pruning of ResNet-50's stem group), it
        # joins that stage's astrocyte, so that MA-Net keeps one per stage
        if any(re.search(p, layer_name) for p in DEFAULT_EXCLUDE):
            timm = layer_name.startswith('timm_model.')
            return 'timm_model.layer1' if timm else 'layer1'
        return super().stage_of(layer_name)

    def stages(self, backbone: nn.Module,
               blocks: Sequence[str]) -> Dict[str, List[str]]:
        # a stage is the parent module of its blocks, whatever its name
        # (layer{i} in mmpretrain / mmdet / timm, but any container works)
        return channel_groups.by_parent(blocks)

    def stage_widths(self, backbone: nn.Module) -> Dict[str, int]:
        return dict(channel_groups.stage_widths(backbone))

    def shrink_stages(self, backbone: nn.Module,
                      widths: Dict[str, int]) -> None:
        channel_groups.shrink_stages(backbone, widths)

    def channel_groups(self, backbone: nn.Module, graph: tp.DependencyGraph,
                       coupled: bool = False) -> List[ChannelGroup]:
        groups = channel_groups.inner_groups(backbone, graph)
        if coupled:
            groups += channel_groups.stage_groups(backbone, graph)
        return groups

    def kept_stage_channels(self, backbone: nn.Module,
                            removed: Dict[str, Sequence[int]]
                            ) -> Dict[str, torch.Tensor]:
        return channel_groups.kept_stage_channels(backbone, removed)
