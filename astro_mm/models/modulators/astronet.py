"""AstroNet's single astrocyte (AN), CVPR 2023.

The AN reads the descriptors of all modulated layers laid out as one 2-D map
(layers x units, zero-padded, masked), and returns a map of the same size:
one logit per unit -> sigmoid -> P. Temporal regulation runs it T times,
each time on the weights already modulated by the previous output:
P^1 = AN(G(W)), P^t = AN(G(W * P^{t-1})); because P > 0 scales a unit's
whole fan-in, G(W * P) = P * G(W) for the avg / max statistics.

The AN's own regulariser (supp. Eq. 10): lambda * ||e^T - e^{T-1}||_2 with
e^t = ||U(P^t) - U(P^{t-1})||_2, e^1 = ||U(P^1)||_2 and U the L2
normalization over all units.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from astro_mm.registry import MODELS
from .base import BaseModulator

AN_SHAPES = ('unet', 'fcn', 'cnn')


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(1, cout), nn.ReLU())


class _UNet(nn.Module):
    """Two-level UNet: the best AN shape (supp. Tab. 1)."""

    def __init__(self, cin: int, width: int):
        super().__init__()
        self.enc1 = _conv(cin, width)
        self.enc2 = _conv(width, 2 * width, stride=2)
        self.mid = _conv(2 * width, 2 * width)
        self.dec = _conv(3 * width, width)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.mid(self.enc2(e1))
        up = F.interpolate(e2, size=e1.shape[-2:], mode='nearest')
        return self.head(self.dec(torch.cat([e1, up], dim=1)))


class _FCN(nn.Module):
    """Fully convolutional, same resolution throughout."""

    def __init__(self, cin: int, width: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv(cin, width), _conv(width, width), _conv(width, width))
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x):
        return self.head(self.body(x))


class _CNN(nn.Module):
    """Conv encoder + fully connected decoder: fixed to one map size.

    The FC layer predicts the map at 1/16 of its width along the units and
    interpolates it back: a full-width FC head would hold L x U x 512
    weights (45 % of a ResNet-18), not a small modulator.
    """

    def __init__(self, cin: int, width: int, map_size: Tuple[int, int],
                 unit_stride: int = 16):
        super().__init__()
        self.body = nn.Sequential(
            _conv(cin, width, stride=2), _conv(width, width, stride=2),
            nn.AdaptiveAvgPool2d((4, 8)))
        self.map_size = map_size
        self.coarse = (map_size[0], -(-map_size[1] // unit_stride))
        self.head = nn.Linear(width * 32, self.coarse[0] * self.coarse[1])

    def forward(self, x):
        out = self.head(self.body(x).flatten(1))
        out = out.view(x.shape[0], 1, *self.coarse)
        return F.interpolate(
            out, size=self.map_size, mode='bilinear', align_corners=True)


@MODELS.register_module()
class AstroNetModulator(BaseModulator):
    """The AN of AstroNet: one astrocyte over all modulated layers.

    Args:
        layer_units (Sequence[int]): Units of each modulated layer (filled in
            by the algorithm from the backbone).
        num_features (int): Descriptor features per unit (1 or 2).
        shape (str): ``'unet'`` (default), ``'fcn'`` or ``'cnn'``.
        width (int): Channels of the AN's first level.
        num_iters (int): Temporal iterations T (default 6).
        temporal_weight (float): lambda of the temporal term (default 1e-3).
        init_prob (float): P of every unit before training. Chosen (the
            papers give none) close to 1 so that switching modulation on after
            the warm-up does not halve every activation at once.
    """

    def __init__(self,
                 layer_units: Sequence[int],
                 num_features: int = 2,
                 shape: str = 'unet',
                 width: int = 16,
                 num_iters: int = 6,
                 temporal_weight: float = 1e-3,
                 init_prob: float = 0.95,
                 init_cfg=None):
        super().__init__(layer_units, init_cfg)
        if shape not in AN_SHAPES:
            raise ValueError(f'AN shape must be one of {AN_SHAPES}, got {shape!r}')
        if num_iters < 1:
            raise ValueError(f'num_iters (T) must be >= 1, got {num_iters}')
        self.num_iters = num_iters
        self.temporal_weight = temporal_weight
        map_size = (len(self.layer_units), max(self.layer_units))
        mask = torch.zeros(map_size)
        for i, units in enumerate(self.layer_units):
            mask[i, :units] = 1
        self.register_buffer('mask', mask, persistent=False)
        if shape == 'unet':
            self.net = _UNet(num_features, width)
        elif shape == 'fcn':
            self.net = _FCN(num_features, width)
        else:
            self.net = _CNN(num_features, width, map_size)
        self.bias = nn.Parameter(
            torch.tensor(float(torch.logit(torch.tensor(init_prob)))))

    def _to_map(self, rows: List[torch.Tensor]) -> torch.Tensor:
        """Pad per-layer ``(units, F)`` rows into a ``(1, F, L, U)`` map."""
        width = self.mask.shape[1]
        padded = [F.pad(r.t(), (0, width - r.shape[0])) for r in rows]
        return torch.stack(padded, dim=1).unsqueeze(0)

    def _from_map(self, prob_map: torch.Tensor) -> List[torch.Tensor]:
        return [prob_map[i, :u] for i, u in enumerate(self.layer_units)]

    def _normalized(self, prob_map: torch.Tensor) -> torch.Tensor:
        flat = prob_map[self.mask.bool()]
        return flat / flat.norm().clamp_min(1e-12)

    def forward(self,
                descriptors: List[torch.Tensor],
                previous: Optional[List[torch.Tensor]] = None,
                with_reg: bool = True
                ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
        """Logits of every modulated layer's units (P^T = their sigmoid),
        and the AN's losses and statistics.

        Args:
            descriptors (list[Tensor]): ``(units, F)`` per layer.
            previous: Unused: AstroNet's history is its T iterations (the
                argument keeps one interface for every modulator).
            with_reg (bool): Unused; the temporal term is always returned.

        Returns:
            tuple: the list of logits (one ``(units,)`` tensor per layer),
            and a dict with ``loss_temporal`` (lambda * |e^T - e^{T-1}|) and
            ``e_t`` (e^T, for the log).
        """
        base = self._to_map(descriptors)
        prob_map = torch.ones_like(self.mask)
        errors = []
        prev_norm = None
        for _ in range(self.num_iters):
            logits = (self.net(base * prob_map)[0, 0] + self.bias) * self.mask
            prob_map = torch.sigmoid(logits) * self.mask
            norm = self._normalized(prob_map)
            errors.append(norm.norm() if prev_norm is None else
                          (norm - prev_norm).norm())
            prev_norm = norm
        if len(errors) > 1:
            temporal = (errors[-1] - errors[-2]).abs()
        else:
            temporal = errors[-1]
        aux = dict(
            loss_temporal=self.temporal_weight * temporal,
            e_t=errors[-1].detach())
        return self._from_map(logits), aux
