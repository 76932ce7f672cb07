"""The projection head CDS attaches to one backbone stage.

Contrastive Deep Supervision (Zhang et al., ECCV 2022) puts a projection
head after every stage: depthwise-separable convolutions, pooling, a
projection and L2 normalization. Its embeddings feed a supervised
contrastive loss; the heads are dropped after training.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import nn

from astro_mm.registry import MODELS


@MODELS.register_module()
class CDSProjectionHead(BaseModule):
    """Depthwise-separable convs -> global average pool -> linear -> L2 norm.

    One :class:`mmcv.cnn.DepthwiseSeparableConvModule` (3x3 depthwise + BN +
    ReLU, 1x1 pointwise + BN + ReLU) per entry of ``strides``; conv ``i`` maps
    ``channels[i]`` to ``channels[i + 1]`` channels.
    :class:`~astro_mm.models.CDSImageClassifier` fills ``channels`` and
    ``strides`` in from the backbone so that the convs of a shallow stage's
    head retrace the widths and down-sampling of the stages after it (as the
    CDS code's heads do); the last stage's head has one stride-1 conv.

    Args:
        channels (Sequence[int]): Widths, the stage's own first, then one
            per conv (``len(strides) + 1`` entries).
        strides (Sequence[int]): Stride of each conv (>= 1 conv).
        embed_dims (int): Size of the embedding (default 128, SupCon's).
        norm_cfg (dict): Norm of the convs (default BN).
        act_cfg (dict): Activation of the convs (default ReLU).
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 channels: Sequence[int],
                 strides: Sequence[int],
                 embed_dims: int = 128,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if len(strides) < 1 or len(channels) != len(strides) + 1:
            raise ValueError(
                'CDSProjectionHead: needs >= 1 conv and one width per conv '
                f'plus the input width; got channels={list(channels)}, '
                f'strides={list(strides)}')
        self.convs = nn.Sequential(*[
            DepthwiseSeparableConvModule(
                in_channels,
                out_channels,
                kernel_size=3,
                stride=stride,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for in_channels, out_channels, stride in zip(
                    channels[:-1], channels[1:], strides)
        ])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.projection = nn.Linear(channels[-1], embed_dims)
        self.in_channels = channels[0]
        self.embed_dims = embed_dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) stage features -> (N, embed_dims) unit vectors."""
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'CDSProjectionHead: expected (N, {self.in_channels}, H, W) '
                f'features, got shape {tuple(x.shape)}')
        x = self.pool(self.convs(x)).flatten(1)
        return F.normalize(self.projection(x), dim=1)
