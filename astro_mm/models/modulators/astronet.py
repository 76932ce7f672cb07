"""AstroNet's single astrocyte (AN), CVPR 2023.

The AN reads the descriptors of all modulated layers laid out as one 2-D map
(layers x units, zero-padded, masked), and returns a map of the same size:
one logit per unit -> sigmoid -> P. Temporal regulation runs it T times,
each time on the weights already modulated by the previous output:
P^1 = AN(G(W)), P^t = AN(G(W * P^{t-1})); because P > 0 scales a unit's
whole fan-in, G(W * P) = P * G(W) for the avg / max statistics.

The AN's own regulariser (supp. Eq. 10): lambda * ||e^T - e^{T-1}||_2 with
e^t = ||U(P^t) - U(P^{t-1})||_2, e^1 = ||U(P^1)||_2. The papers leave open
what U is and over which t the e^t run; :class:`AstroNetModulator`'s
``temporal_norm`` and ``temporal_span`` choose (its docstring argues each
reading).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from astro_mm.registry import MODELS
from .base import BaseModulator

AN_SHAPES = ('unet', 'fcn', 'cnn')
# U of the temporal term: the readings of the papers' "normalization"
TEMPORAL_NORMS = ('l2', 'standardize', 'rms')
# what e^t compares: the T iterations of one forward, or successive Phi-steps
# / Phi-rounds
TEMPORAL_SPANS = ('inner', 'steps', 'rounds')
# reference_error before any e^t was recorded (e^t >= 0, so -1 is "none")
NO_ERROR = -1.0


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
        temporal_norm (str): U, the normalization of P in e^t (the papers
            say "normalization" and no more):

            * ``'l2'`` (default, the literal reading): U(P) = P / ||P||_2.
              Then e^1 = ||U(P^1)|| == 1 whatever P is, and every e^t is
              blind to a uniform scale of P.
            * ``'standardize'``: U(P) = (P - mean) / std over the units.
              Also constant: e^1 = sqrt(n) for n units (a standardized vector
              has squared norm n), and blind to any affine change of P. Kept
              to show it; no study config uses it.
            * ``'rms'``: U(P) = P / sqrt(n), a fixed scale, not one computed
              from P. e^1 = sqrt(mean P^2) is P's level (1 for the plain
              network), and e^t = RMS(P^t - P^{t-1}) sees every change of P,
              uniform ones included: the reading under which e^1 is not
              constant by construction.
        temporal_span (str): What e^t compares:

            * ``'inner'`` (default, the literal reading): the T iterations of
              one forward. The AN reaches its fixed point within T = 6
              (e^6 ~ e^5 ~ 1e-8, RESULTS.md), so the term is ~0 for every
              U: with P near-uniform, the GroupNorm after the AN's first
              conv cancels the scale P^{t-1} puts on its input.
            * ``'steps'``: e = ||U(P) - U(P_prev)|| with P_prev the final P
              of the previous Phi-step (before the first one: P == 1, the
              warm-up's plain network), and the term lambda * |e - e_prev|
              with e_prev the previous Phi-step's e (no term until there is
              one).
            * ``'rounds'``: the same, with P_prev and e_prev those of the last
              Phi-step of the previous round of Algorithm 1 (committed by
              :meth:`end_round`): "the change of P from one Phi-round to the
              next", as the papers' figures of e^t read.

            Under ``'steps'`` and ``'rounds'`` the term is not constant: it
            moves with what the MNet does to P, and its gradient asks P to
            change by as much as it did the step / round before. The
            references are persistent buffers (detached), so a resumed run
            continues the same sequence; the T inner iterations still produce
            P^T, and their e^T is logged as ``e_inner``.
        init_prob (float): P of every unit before training, in (0, 1).
            Chosen (the papers give none) close to 1 so that switching
            modulation on after the warm-up does not halve every activation
            at once.
    """

    def __init__(self,
                 layer_units: Sequence[int],
                 num_features: int = 2,
                 shape: str = 'unet',
                 width: int = 16,
                 num_iters: int = 6,
                 temporal_weight: float = 1e-3,
                 temporal_norm: str = 'l2',
                 temporal_span: str = 'inner',
                 init_prob: float = 0.95,
                 init_cfg=None):
        super().__init__(layer_units, init_cfg)
        if shape not in AN_SHAPES:
            raise ValueError(f'AN shape must be one of {AN_SHAPES}, got {shape!r}')
        if num_iters < 1:
            raise ValueError(f'num_iters (T) must be >= 1, got {num_iters}')
        if temporal_norm not in TEMPORAL_NORMS:
            raise ValueError(f'temporal_norm (U) must be one of '
                             f'{TEMPORAL_NORMS}, got {temporal_norm!r}')
        if temporal_span not in TEMPORAL_SPANS:
            raise ValueError(f'temporal_span must be one of {TEMPORAL_SPANS}, '
                             f'got {temporal_span!r}')
        if not 0 < init_prob < 1:
            raise ValueError(f'init_prob must be in (0, 1), got {init_prob}')
        self.num_iters = num_iters
        self.temporal_weight = temporal_weight
        self.temporal_norm = temporal_norm
        self.temporal_span = temporal_span
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
        if temporal_span != 'inner':
            # P and e of the previous Phi-step / round, and those of the
            # latest Phi-step waiting for end_round; saved in checkpoints.
            # Registered only here, so the literal reading's checkpoints
            # keep their keys. Before the first Phi-step P == 1 (warm-up).
            units = sum(self.layer_units)
            self.register_buffer('reference_probs', torch.ones(units))
            self.register_buffer('next_reference_probs', torch.ones(units))
            self.register_buffer('reference_error', torch.tensor(NO_ERROR))
            self.register_buffer('next_reference_error',
                                 torch.tensor(NO_ERROR))

    def _to_map(self, rows: List[torch.Tensor]) -> torch.Tensor:
        """Pad per-layer ``(units, F)`` rows into a ``(1, F, L, U)`` map."""
        width = self.mask.shape[1]
        padded = [F.pad(r.t(), (0, width - r.shape[0])) for r in rows]
        return torch.stack(padded, dim=1).unsqueeze(0)

    def _from_map(self, prob_map: torch.Tensor) -> List[torch.Tensor]:
        return [prob_map[i, :u] for i, u in enumerate(self.layer_units)]

    def _normalized(self, prob_map: torch.Tensor) -> torch.Tensor:
        return self.unit_normalized(prob_map[self.mask.bool()])

    def unit_normalized(self, flat: torch.Tensor) -> torch.Tensor:
        """U(P) of the real units' P, flattened (see ``temporal_norm``)."""
        if self.temporal_norm == 'l2':
            return flat / flat.norm().clamp_min(1e-12)
        if self.temporal_norm == 'standardize':
            centred = flat - flat.mean()
            return centred / flat.std(unbiased=False).clamp_min(1e-12)
        return flat / flat.numel()**0.5

    def end_round(self) -> None:
        """``temporal_span='rounds'``: the last Phi-step's P and e become the
        references of the round that starts."""
        if self.temporal_span == 'rounds':
            self._commit_reference()

    def _commit_reference(self) -> None:
        self.reference_probs.copy_(self.next_reference_probs)
        self.reference_error.copy_(self.next_reference_error)

    def forward(self,
                descriptors: List[torch.Tensor],
                previous: Optional[List[torch.Tensor]] = None,
                with_reg: bool = True
                ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
        """Logits of every modulated layer's units (P^T = their sigmoid),
        and the AN's losses and statistics.

        Args:
            descriptors (list[Tensor]): ``(units, F)`` per layer.
            previous: Unused: AstroNet's history is its T iterations or its
                reference buffers (the argument keeps one interface for every
                modulator).
            with_reg (bool): The temporal term is always returned; with
                ``temporal_span`` ``'steps'`` / ``'rounds'`` a Phi-step's
                forward in training mode (``with_reg=True``) also records
                this P and e as the next references. False leaves every
                buffer as it is.

        Returns:
            tuple: the list of logits (one ``(units,)`` tensor per layer),
            and a dict with ``loss_temporal`` (lambda * |e^T - e^{T-1}|, or
            across Phi-steps / rounds) and ``e_t`` (the e^t of the term, for
            the log); across steps / rounds also ``e_inner`` (e^T of the
            T iterations).
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
        if self.temporal_span != 'inner':
            return self._from_map(logits), self._across_steps(
                prob_map, errors[-1], with_reg)
        if len(errors) > 1:
            temporal = (errors[-1] - errors[-2]).abs()
        else:
            temporal = errors[-1]
        aux = dict(
            loss_temporal=self.temporal_weight * temporal,
            e_t=errors[-1].detach())
        return self._from_map(logits), aux

    def _across_steps(self, prob_map: torch.Tensor, inner_error: torch.Tensor,
                      with_reg: bool) -> Dict[str, torch.Tensor]:
        """The temporal term of ``temporal_span`` ``'steps'`` / ``'rounds'``:
        e against the reference P, lambda * |e - reference e|."""
        flat = prob_map[self.mask.bool()]
        error = (self.unit_normalized(flat) -
                 self.unit_normalized(self.reference_probs)).norm()
        if float(self.reference_error) == NO_ERROR:
            temporal = error.new_zeros(())  # no earlier e to compare with
        else:
            temporal = (error - self.reference_error).abs()
        if self.training and with_reg:
            self.next_reference_probs.copy_(flat.detach())
            self.next_reference_error.copy_(error.detach())
            if self.temporal_span == 'steps':
                self._commit_reference()
        return dict(
            loss_temporal=self.temporal_weight * temporal,
            e_t=error.detach(),
            e_inner=inner_error.detach())
