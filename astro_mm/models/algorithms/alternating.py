"""Algorithm 1 of MA-Net (also used for AstroNet): alternating optimization.

The algorithm owns the task network (TNet, weights W) and the modulator
(MNet, parameters Phi), in the style of mmrazor's algorithms. The round r
(epoch, iteration, or every N iterations; set by
:class:`astro_mm.engine.AlternationHook`) decides the phase:

* ``warmup``: r <= R_TN, W trains alone, P == 1 (the plain network);
* ``phi``:    even r, Phi trains on L_data + the modulator's own loss, W is
  frozen;
* ``tnet``:   odd r, W trains under P computed once at the start of the round
  and cached (the modulator stays off the TNet's hot path).

``train_step`` takes an :class:`~mmengine.optim.OptimWrapperDict` with
``tnet`` and ``mnet*`` wrappers (see
:class:`astro_mm.engine.AlternatingOptimWrapperConstructor`) and updates one
side per step.
"""
import copy
import inspect
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn

from astro_mm.registry import MODELS
from ..modulation import (DEFAULT_EXCLUDE, UnitScaler, find_modulated_layers,
                          num_descriptor_features, weight_descriptors)

PHASES = ('warmup', 'tnet', 'phi')


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if is_model_wrapper(module) else module


def assign_groups(layers, num_astrocytes: int) -> List[int]:
    """Sub-astrocyte index of each layer: one per stage when M equals the
    number of stages, else M contiguous runs of layers of near-equal length.

    Raises:
        ValueError: M is not in [1, number of modulated layers].
    """
    if not 1 <= num_astrocytes <= len(layers):
        raise ValueError(
            f'num_astrocytes (M) = {num_astrocytes} must be between 1 and the '
            f'number of modulated layers ({len(layers)})')
    stages = list(dict.fromkeys(layer.group for layer in layers))
    if len(stages) == num_astrocytes:
        return [stages.index(layer.group) for layer in layers]
    chunks = np.array_split(np.arange(len(layers)), num_astrocytes)
    return [j for j, chunk in enumerate(chunks) for _ in chunk]


@MODELS.register_module()
class AlternatingAlgorithm(BaseModel):
    """A task network modulated by astrocytes, trained by Algorithm 1.

    Args:
        architecture (dict | nn.Module): The TNet, e.g. an mmpretrain
            ``ImageClassifier`` config (``type='mmpretrain.ImageClassifier'``).
            Its ``backbone`` is modulated.
        modulator (dict): The MNet: ``astro_mm.AstroNetModulator`` or
            ``astro_mm.MANetModulator`` (whose ``num_astrocytes``, default 4,
            sets M). Layer sizes are filled in from the backbone.
        modulated_layers (dict): ``include`` / ``exclude`` regexes of module
            names and ``heads`` (attention heads as units); defaults to the
            backbone family's units (every conv / linear but the stem for
            ResNets; see :mod:`astro_mm.models.modulation.unit_rules`).
        descriptor (str): G: ``'avg'``, ``'max'`` or ``'mix'`` (default).
        warmup_rounds (int): R_TN, rounds of W alone (default 5, as the
            authors' code).
        delta (float): Pruning threshold, used here for the log (share of
            units with P < delta).
        data_preprocessor (dict, optional): Defaults to the architecture's.
    """

    def __init__(self,
                 architecture: Union[dict, nn.Module],
                 modulator: dict,
                 modulated_layers: Optional[dict] = None,
                 descriptor: str = 'mix',
                 warmup_rounds: int = 5,
                 delta: float = 1e-3,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        if warmup_rounds < 0:
            raise ValueError(f'warmup_rounds (R_TN) must be >= 0, got {warmup_rounds}')
        if isinstance(architecture, dict):
            architecture = copy.deepcopy(architecture)
            if data_preprocessor is not None:
                architecture.setdefault('data_preprocessor', data_preprocessor)
            architecture = MODELS.build(architecture)
        super().__init__(
            data_preprocessor=architecture.data_preprocessor, init_cfg=init_cfg)
        self.architecture = architecture
        self.descriptor = descriptor
        self.warmup_rounds = warmup_rounds
        self.delta = delta
        layer_cfg = dict(include=None, exclude=DEFAULT_EXCLUDE)
        layer_cfg.update(modulated_layers or {})
        self.layers = find_modulated_layers(architecture.backbone, **layer_cfg)
        self.modulator = self._build_modulator(modulator)
        self.scaler = UnitScaler(self.layers)
        self._split = [layer.num_units for layer in self.layers]
        total, feats = sum(self._split), num_descriptor_features(descriptor)
        # Persistent so that a resumed run continues exactly: the round, the
        # P cached for a W-round and the weight snapshots behind the history.
        self.register_buffer('round', torch.tensor(0))
        self.register_buffer('cached_probs', torch.ones(total))
        self.register_buffer('snapshot', torch.zeros(total, feats))
        self.register_buffer('previous_snapshot', torch.zeros(total, feats))
        self._phase_applied_for: Optional[int] = None
        self._descriptor_cache: Optional[List[torch.Tensor]] = None
        mnet = sum(p.numel() for p in self.modulator.parameters())
        tnet = sum(p.numel() for p in architecture.parameters())
        print_log(
            f'{type(self.modulator).__name__}: {mnet / 1e6:.3f} M parameters '
            f'({100 * mnet / tnet:.2f} % of the TNet\'s {tnet / 1e6:.2f} M), '
            f'{len(self.layers)} modulated layers, {total} units',
            logger='current')

    def _build_modulator(self, cfg: dict) -> nn.Module:
        cfg = copy.deepcopy(cfg)
        cfg.update(
            layer_units=[layer.num_units for layer in self.layers],
            num_features=num_descriptor_features(self.descriptor))
        modulator_cls = MODELS.get(cfg['type'])
        if modulator_cls is None:
            raise KeyError(f'modulator type {cfg["type"]!r} is not registered')
        params = inspect.signature(modulator_cls).parameters
        if 'layer_groups' in params:
            cfg['layer_groups'] = assign_groups(
                self.layers, cfg.pop('num_astrocytes', 4))
        elif 'num_astrocytes' in cfg:
            raise ValueError(f'{cfg["type"]} has one astrocyte; remove '
                             'num_astrocytes from the modulator config')
        return MODELS.build(cfg)

    # ----------------------------------------------------------------- phases
    @staticmethod
    def phase_of(round_index: int, warmup_rounds: int) -> str:
        """Algorithm 1's phase of round ``round_index`` (1-based)."""
        if round_index <= warmup_rounds:
            return 'warmup'
        return 'phi' if round_index % 2 == 0 else 'tnet'

    @property
    def phase(self) -> str:
        return self.phase_of(max(int(self.round), 1), self.warmup_rounds)

    def set_round(self, round_index: int) -> None:
        """Enter round ``round_index`` (1-based); idempotent within a round."""
        if round_index != int(self.round):
            self._begin_round(round_index)
        if self._phase_applied_for != round_index:
            training_phi = self.phase == 'phi'
            self.architecture.requires_grad_(not training_phi)
            self.modulator.requires_grad_(training_phi)
            self._phase_applied_for = round_index

    def _flat(self, rows: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(rows))

    def _rows(self, flat: torch.Tensor) -> List[torch.Tensor]:
        return list(flat.split(self._split))

    @torch.no_grad()
    def _begin_round(self, round_index: int) -> None:
        started = int(self.round) > 0
        self.round.fill_(round_index)
        self._descriptor_cache = None
        if round_index <= self.warmup_rounds:
            return
        if started:
            modulator = _unwrap(self.modulator)
            if hasattr(modulator, 'end_round'):
                modulator.end_round()
        # history: the weights at the start of this and of the last round
        current = self._flat(weight_descriptors(self.layers, self.descriptor))
        if not bool(self.snapshot.any()):
            self.snapshot.copy_(current)
        self.previous_snapshot.copy_(self.snapshot)
        self.snapshot.copy_(current)
        if self.phase == 'tnet':
            probs, _ = _unwrap(self.modulator)(
                self._descriptors(), self._rows(self.previous_snapshot),
                with_reg=False)
            self.cached_probs.copy_(self._flat(probs))

    def _descriptors(self) -> List[torch.Tensor]:
        # W changes only in W-rounds, where P is cached: one read per round
        if self._descriptor_cache is None or self.phase != 'phi':
            self._descriptor_cache = weight_descriptors(
                self.layers, self.descriptor)
        return self._descriptor_cache

    def current_probs(self) -> Optional[List[torch.Tensor]]:
        """P the TNet runs with now (None: the plain network)."""
        if self.phase == 'warmup':
            return None
        if self.phase == 'tnet':
            return self._rows(self.cached_probs)
        with torch.no_grad():
            probs, _ = _unwrap(self.modulator)(
                self._descriptors(), self._rows(self.previous_snapshot),
                with_reg=False)
        return probs

    # ------------------------------------------------------------- training
    def train_step(self, data, optim_wrapper: OptimWrapperDict
                   ) -> Dict[str, torch.Tensor]:
        """One step of the current phase: update W or Phi, never both."""
        data = self.data_preprocessor(data, True)
        if self.phase == 'phi':
            log_vars = self._phi_step(data, optim_wrapper)
        else:
            log_vars = self._tnet_step(data, optim_wrapper['tnet'])
        probs = self.scaler.probs
        flat = self._flat(probs).detach() if probs else None
        log_vars.update(
            round=float(self.round),
            phase=float(PHASES.index(self.phase)),
            mean_p=float(flat.mean()) if flat is not None else 1.0,
            p_below_delta=float((flat < self.delta).float().mean())
            if flat is not None else 0.0)
        return log_vars

    def _tnet_step(self, data, wrapper) -> Dict[str, torch.Tensor]:
        self.scaler.probs = self.current_probs()
        with wrapper.optim_context(self.architecture):
            losses = self.architecture(**data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        wrapper.update_params(parsed)
        return log_vars

    def _phi_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        wrappers = [w for name, w in optim_wrapper.items()
                    if name.startswith('mnet')]
        if not wrappers:
            raise KeyError('a Phi-round needs optim wrappers named mnet*, got '
                           f'{list(optim_wrapper.keys())}')
        with wrappers[0].optim_context(self.modulator):
            probs, aux = self.modulator(self._descriptors(),
                                        self._rows(self.previous_snapshot))
            self.scaler.probs = probs
            # the TNet outside its DDP wrapper: W is frozen, nothing to sync
            losses = _unwrap(self.architecture)(**data, mode='loss')
            losses.update(aux)
        parsed, log_vars = self.parse_losses(losses)
        wrappers[0].backward(parsed)
        # chain: A_1 ... A_M step in order, each with its own optimizer
        for wrapper in wrappers:
            wrapper.step()
            wrapper.zero_grad()
        return log_vars

    # ------------------------------------------------------------ inference
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """The TNet's forward under the current P (for val / test)."""
        self.scaler.probs = self.current_probs()
        return self.architecture(inputs, data_samples, mode=mode)
