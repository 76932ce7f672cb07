"""MA-Net's multi-astrocyte modulation network (MNet), AAAI 2024.

Per modulated layer, the descriptor of the current weights and of the
previous round's snapshot (the history of G(W^t, W^{t-1})) goes through

* g1: an SE-style compressor (squeeze by pooling over units, two FC layers)
  to one token of size D;
* g2: a small ViT over all layers' tokens (position embeddings), the
  cross-layer view; G fuses g1 and g2 by their average.

The layers are split into M groups, one sub-astrocyte each. Sub-astrocyte j
is K stacked LSTM layers run over its group's token sequence; LSTM layer k
takes the sum of the outputs of all earlier layers (dense), and the state
carries from one round to the next (detached): the temporal mechanism.
Per-layer decoders map each output token to one logit per unit -> P.

Joint function U: ``'chain'`` lets A_j condition on what A_1..A_{j-1}
produced this round and on its own output of the previous round;
``'independent'`` keeps only its own history. ``use_history=False`` drops
the own history too: the four cases of Tab. 12 are (independent, no
history), (independent, history), (chain, no history), (chain, history).

L_reg (Eq. 9) is InfoNCE over 2M embeddings: each sub-astrocyte's summary
of two perturbed views of the descriptors, summed over the M anchors
j = 1 ... M (each anchor's positive is its other view z_{M+j}). The views
are built here, inside the MNet (the task network does not run again for
them); the clean view and both perturbed views go through the MNet as one
batch of three. The papers give neither the perturbation nor tau: with 10 %
multiplicative noise, tau = 0.1 and M = 3, lambda * L_reg fell from 0.08 to
1e-4 within 20 Phi-steps and to 1e-5 by the end of the first epoch (the
converged study's MA-Net, seed 0): the M summaries differ far more than two
views of one, and a solved L_reg stops shaping the MNet. ``view_noise``
and ``num_negatives`` (views of the same descriptors with each layer's
units shuffled: the same statistics, a different unit order, so telling
them apart needs per-unit information, the information P is made of) make
the task harder.

The decoders start with weights of std 1 / sqrt(D), not near zero: the task
loss's gradient reaches g1, g2 and the LSTMs only through them (with std
1e-3 it was ~470x smaller than L_reg's, so the MNet learned almost only
from L_reg).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from astro_mm.registry import MODELS
from .base import BaseModulator

JOINT_FUNCTIONS = ('chain', 'independent')


class SqueezeCompressor(nn.Module):
    """g1 for one layer: pool the units to a fixed length, then FC-ReLU-FC."""

    def __init__(self, num_units: int, num_features: int, token_dim: int,
                 squeeze_len: int):
        super().__init__()
        self.squeeze_len = min(num_units, squeeze_len)
        self.fc = nn.Sequential(
            nn.Linear(self.squeeze_len * num_features, token_dim), nn.ReLU(),
            nn.Linear(token_dim, token_dim))

    def forward(self, desc: torch.Tensor) -> torch.Tensor:
        # desc: (views, units, features) -> (views, token_dim)
        pooled = F.adaptive_avg_pool1d(desc.transpose(1, 2), self.squeeze_len)
        return self.fc(pooled.flatten(1))


class SubAstrocyte(nn.Module):
    """K dense LSTM layers over a group's tokens, plus its chain context."""

    def __init__(self, token_dim: int, num_lstm: int):
        super().__init__()
        self.lstms = nn.ModuleList(
            nn.LSTM(token_dim, token_dim, batch_first=True)
            for _ in range(num_lstm))
        self.context = nn.Linear(2 * token_dim, token_dim)

    def forward(self, tokens, context, state):
        """Run the group's sequence.

        Args:
            tokens (Tensor): ``(views, S, D)`` fused tokens of the group.
            context (Tensor): ``(views, 2D)`` chain input and own history.
            state (Tensor): ``(2, K, D)`` carried (h, c) of every LSTM layer.

        Returns:
            tuple: output tokens ``(views, S, D)`` and the final state
            ``(2, K, views, D)``.
        """
        views = tokens.shape[0]
        outputs = [tokens + self.context(context).unsqueeze(1)]
        finals = []
        for k, lstm in enumerate(self.lstms):
            h0 = state[0, k].expand(views, -1).unsqueeze(0).contiguous()
            c0 = state[1, k].expand(views, -1).unsqueeze(0).contiguous()
            out, (h, c) = lstm(torch.stack(outputs).sum(0), (h0, c0))
            outputs.append(out)
            finals.append(torch.stack([h[0], c[0]]))
        return outputs[-1], torch.stack(finals, dim=1)


@MODELS.register_module()
class MANetModulator(BaseModulator):
    """The MNet of MA-Net.

    Args:
        layer_units (Sequence[int]): Units of each modulated layer.
        layer_groups (Sequence[int]): Sub-astrocyte index of each layer
            (contiguous, 0..M-1; filled in by the algorithm).
        num_features (int): Descriptor features per unit of one snapshot; the
            MNet reads two snapshots (current and previous round).
        num_lstm (int): K, LSTM layers per sub-astrocyte (default 4).
        token_dim (int): D, the token size (default 64).
        squeeze_len (int): Length the units are pooled to in g1.
        vit_depth (int): Transformer layers of g2. vit_heads (int): its heads.
        joint (str): ``'chain'`` (default) or ``'independent'``.
        use_history (bool): Condition each sub-astrocyte on its own output of
            the previous round (default True; Tab. 12).
        reg_weight (float): lambda of L_reg (default 0.1).
        temperature (float): tau of L_reg's InfoNCE. The paper gives none;
            0.1 is chosen.
        view_noise (float): Relative std of the multiplicative noise that
            makes the two views of L_reg (default 0.1).
        num_negatives (int): Extra negatives of every anchor (default 0, the
            papers' 2M embeddings): per extra view, each layer's units
            shuffled (a permutation drawn per layer and view), with the same
            noise; every sub-astrocyte's summary of such a view is a
            negative of every anchor, its own included.
        init_prob (float): P of every unit before training (see AstroNet),
            in (0, 1): the decoders' bias is logit(init_prob).
        decoder_std (float, optional): Std of the decoders' initial
            weights; default 1 / sqrt(token_dim).
    """
    grouped = True

    def __init__(self,
                 layer_units: Sequence[int],
                 layer_groups: Sequence[int],
                 num_features: int = 2,
                 num_lstm: int = 4,
                 token_dim: int = 64,
                 squeeze_len: int = 64,
                 vit_depth: int = 2,
                 vit_heads: int = 4,
                 joint: str = 'chain',
                 use_history: bool = True,
                 reg_weight: float = 0.1,
                 temperature: float = 0.1,
                 view_noise: float = 0.1,
                 num_negatives: int = 0,
                 init_prob: float = 0.95,
                 decoder_std: Optional[float] = None,
                 init_cfg=None):
        super().__init__(layer_units, init_cfg)
        if view_noise < 0:
            raise ValueError(f'view_noise must be >= 0, got {view_noise}')
        if not isinstance(num_negatives, int) or num_negatives < 0:
            raise ValueError(f'num_negatives must be an integer >= 0, got '
                             f'{num_negatives!r}')
        if not 0 < init_prob < 1:
            raise ValueError(f'init_prob must be in (0, 1), got {init_prob}')
        if joint not in JOINT_FUNCTIONS:
            raise ValueError(
                f'joint must be one of {JOINT_FUNCTIONS}, got {joint!r}')
        if len(layer_groups) != len(layer_units):
            raise ValueError('layer_groups needs one entry per modulated layer')
        self.layer_groups = list(layer_groups)
        if sorted(set(self.layer_groups)) != list(range(self.num_astrocytes)):
            raise ValueError(f'layer_groups must cover 0..M-1, got {layer_groups}')
        self.joint = joint
        self.use_history = use_history
        self.reg_weight = reg_weight
        self.temperature = temperature
        self.view_noise = view_noise
        self.num_negatives = num_negatives
        dim = token_dim
        in_features = 2 * num_features
        self.g1 = nn.ModuleList(
            SqueezeCompressor(u, in_features, dim, squeeze_len)
            for u in self.layer_units)
        self.pos_embed = nn.Parameter(torch.zeros(1, len(self.layer_units), dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.g2 = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(
                dim, vit_heads, 2 * dim, dropout=0.0, batch_first=True),
            vit_depth,
            enable_nested_tensor=False)
        self.astrocytes = nn.ModuleList(
            SubAstrocyte(dim, num_lstm) for _ in range(self.num_astrocytes))
        bias = float(torch.logit(torch.tensor(init_prob)))
        self.decoders = nn.ModuleList(nn.Linear(dim, u) for u in self.layer_units)
        decoder_std = dim**-0.5 if decoder_std is None else decoder_std
        for decoder in self.decoders:
            nn.init.normal_(decoder.weight, std=decoder_std)
            nn.init.constant_(decoder.bias, bias)
        self.projector = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(),
                                       nn.Linear(dim, dim))
        # temporal state, carried between rounds and saved in checkpoints
        m = self.num_astrocytes
        self.register_buffer('lstm_state', torch.zeros(m, 2, num_lstm, dim))
        self.register_buffer('next_lstm_state', torch.zeros(m, 2, num_lstm, dim))
        self.register_buffer('own_history', torch.zeros(m, dim))
        self.register_buffer('next_own_history', torch.zeros(m, dim))
        # L_reg's views draw noise from a generator seeded by this counter:
        # mmengine does not checkpoint RNG states, and a resumed run must draw
        # the same views as an uninterrupted one.
        self.register_buffer('view_step', torch.tensor(0))

    @property
    def num_astrocytes(self) -> int:
        return max(self.layer_groups) + 1

    @property
    def chained(self) -> bool:
        """The chain joint function U steps A_1 ... A_M in order."""
        return self.joint == 'chain'

    def astrocyte_parameters(self, index: int) -> List[nn.Parameter]:
        """Parameters of sub-astrocyte ``index``: its LSTMs and decoders."""
        params = list(self.astrocytes[index].parameters())
        for decoder, group in zip(self.decoders, self.layer_groups):
            if group == index:
                params += list(decoder.parameters())
        return params

    def shared_parameters(self) -> List[nn.Parameter]:
        """g1, g2 and the L_reg projector: shared by all sub-astrocytes."""
        own = {id(p) for j in range(self.num_astrocytes)
               for p in self.astrocyte_parameters(j)}
        return [p for p in self.parameters() if id(p) not in own]

    def end_round(self) -> None:
        """Carry the state of the round just finished into the next one."""
        self.lstm_state.copy_(self.next_lstm_state)
        self.own_history.copy_(self.next_own_history)

    def _views(self, current, previous, with_views: bool):
        descs = [torch.cat([c, p], dim=1) for c, p in zip(current, previous)]
        if not with_views:
            return [d.unsqueeze(0) for d in descs]
        generator = torch.Generator().manual_seed(int(self.view_step))
        if self.training:  # a Phi-step: the next step draws new views
            self.view_step += 1
        out = []
        for d in descs:
            noise = torch.randn(2, *d.shape, generator=generator)
            noise = 1 + self.view_noise * noise.to(d.device, d.dtype)
            out.append(torch.cat([d.unsqueeze(0), d.unsqueeze(0) * noise]))
        # the negatives are drawn after every layer's views: without them
        # the generator draws exactly what it always did
        for i, d in enumerate(descs if self.num_negatives else []):
            order = torch.stack([
                torch.randperm(d.shape[0], generator=generator)
                for _ in range(self.num_negatives)
            ]).to(d.device)
            noise = torch.randn(self.num_negatives, *d.shape,
                                generator=generator)
            noise = 1 + self.view_noise * noise.to(d.device, d.dtype)
            out[i] = torch.cat([out[i], d[order] * noise])
        return out

    def _info_nce(self, summaries: torch.Tensor) -> torch.Tensor:
        """Eq. 9: InfoNCE over the 2M embeddings of the two perturbed
        views (and the M per extra negative view), summed over the M anchors
        z_1 ... z_M."""
        m = self.num_astrocytes
        views = summaries.shape[0] - 1  # every view but the clean one
        z = F.normalize(
            self.projector(summaries[1:].reshape(views * m, -1)), dim=1)
        sim = z[:m] @ z.t() / self.temperature
        sim = sim.masked_fill(
            torch.eye(m, views * m, dtype=torch.bool, device=z.device),
            float('-inf'))
        target = torch.arange(m, 2 * m, device=z.device)
        return F.cross_entropy(sim, target, reduction='sum')

    def forward(self,
                descriptors: List[torch.Tensor],
                previous: Optional[List[torch.Tensor]] = None,
                with_reg: bool = True
                ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
        """Logits of every modulated layer's units, and L_reg.

        Args:
            descriptors (list[Tensor]): ``(units, F)`` per layer, now.
            previous (list[Tensor], optional): The same for the previous
                round's weights; defaults to ``descriptors``.
            with_reg (bool): A Phi-step: compute L_reg and, in training
                mode, record the LSTM state and summaries carried into the
                next round. False only reads P and changes no buffer.

        Returns:
            tuple: logits per layer (from the unperturbed view) and a dict
            with ``loss_reg`` when ``with_reg``.
        """
        previous = descriptors if previous is None else previous
        views = self._views(descriptors, previous, with_reg)
        tokens = torch.stack([g1(v) for g1, v in zip(self.g1, views)], dim=1)
        fused = (tokens + self.g2(tokens + self.pos_embed)) / 2
        groups = torch.tensor(self.layer_groups, device=fused.device)
        outputs = torch.empty_like(fused)
        summaries, states = [], []
        chain = fused.new_zeros(fused.shape[0], fused.shape[2])
        for j, astrocyte in enumerate(self.astrocytes):
            index = (groups == j).nonzero().flatten()
            history = self.own_history[j] if self.use_history else \
                torch.zeros_like(self.own_history[j])
            context = torch.cat([chain, history.expand_as(chain)], dim=1)
            out, state = astrocyte(fused[:, index], context, self.lstm_state[j])
            outputs[:, index] = out
            summary = out.mean(1)
            summaries.append(summary)
            states.append(state[:, :, 0].detach())
            if self.joint == 'chain':
                chain = chain + summary
        summaries = torch.stack(summaries, dim=1)  # (views, M, D)
        if self.training and with_reg:
            self.next_lstm_state.copy_(torch.stack(states))
            self.next_own_history.copy_(summaries[0].detach())
        logits = [decoder(outputs[0, i])
                  for i, decoder in enumerate(self.decoders)]
        aux = {}
        if with_reg:
            aux['loss_reg'] = self.reg_weight * self._info_nce(summaries)
        return logits, aux
