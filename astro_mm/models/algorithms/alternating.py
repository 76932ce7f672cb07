"""Algorithm 1 of MA-Net (also used for AstroNet): alternating optimization.

The algorithm owns the task network (TNet, weights W) and the modulator
(MNet, parameters Phi), in the style of mmrazor's algorithms. The round r
(epoch, iteration, or every N iterations; set by
:class:`astro_mm.engine.AlternationHook`) decides the phase:

* ``warmup``: r <= R_TN, W trains alone, P == 1 (the plain network);
* ``phi``:    even r, Phi trains on L_data + the modulator's own loss, W is
  frozen;
* ``tnet``:   odd r, W trains under the P of the final Phi-state, cached
  (the modulator stays off the TNet's hot path);
* ``batch``:  the hook's ``alternation='per_batch'`` (the authors' code): every
  step is a Phi-step and then a W-step on the same batch, the W-step under
  the P the Phi-step just produced.

A Phi-step runs the TNet once, with P as leaves, for the task gradient
dL/dP, and leaves the TNet's batch-norm statistics as they were. The MNet
then steps on ``<dL/dP, P(Phi)> + its own losses (+ the budget term)``,
whose gradient in Phi is the task's; with MA-Net's chain the sub-astrocytes
step in order A_1 ... A_M, each after the MNet is re-run with the updates of
A_1 ... A_{j-1} (dL/dP stays the one of this step's TNet pass: re-running
the TNet M times per step would cost M passes for a first-order change).

With ``budget`` (astro_mm's budget-aware mode, :mod:`.budget`) the TNet runs
with hard gates and Phi also minimizes the kept cost under a Lagrange
multiplier; without it, P acts as the papers say (paper mode).

``train_step`` takes an :class:`~mmengine.optim.OptimWrapperDict` with
``tnet`` and ``mnet*`` wrappers (see
:class:`astro_mm.engine.AlternatingOptimWrapperConstructor`).
"""
import contextlib
import copy
import re
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from astro_mm.families import resolve_family
from astro_mm.registry import MODELS
from ..modulated import (UnitScaler, find_modulated_layers,
                         num_descriptor_features, weight_descriptors)
from ..modulators import BaseModulator
from .budget import UnitBudget

PHASES = ('warmup', 'tnet', 'phi', 'batch')


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


@contextlib.contextmanager
def frozen_norm_statistics(module: nn.Module) -> Iterator[None]:
    """Run ``module`` in training mode (batch statistics, as the gradient
    needs) but leave its batch norms' running statistics as they were."""
    saved = [(norm, {k: v.clone() for k, v in norm._buffers.items()
                     if v is not None})
             for norm in module.modules() if isinstance(norm, _BatchNorm)]
    try:
        yield
    finally:
        with torch.no_grad():
            for norm, buffers in saved:
                for key, value in buffers.items():
                    norm._buffers[key].copy_(value)


@MODELS.register_module()
class AlternatingAlgorithm(BaseModel):
    """A task network modulated by astrocytes, trained by Algorithm 1.

    Args:
        architecture (dict | nn.Module): The TNet, e.g. an mmpretrain
            ``ImageClassifier`` config (``type='mmpretrain.ImageClassifier'``).
            Its ``backbone`` is modulated.
        modulator (dict): The MNet, a :class:`BaseModulator`:
            ``astro_mm.AstroNetModulator``, ``astro_mm.MANetModulator``
            (whose ``num_astrocytes``, default 4, sets M) or the ``gates``
            control ``astro_mm.FreeLogitsModulator`` (a free logit per
            unit, no MNet). Layer sizes are filled in from the backbone.
        modulated_layers (dict): ``include`` / ``exclude`` regexes of module
            names and ``heads`` (attention heads as units); defaults to the
            backbone family's units (every conv / linear but the stem for
            ResNets; see :mod:`astro_mm.families`), in
            the budget-aware mode to the prunable units only.
        descriptor (str): G: ``'avg'``, ``'max'`` or ``'mix'`` (default).
        warmup_rounds (int): R_TN, rounds of W alone (default 5, as the
            authors' code).
        delta (float): Pruning threshold of the paper mode, used here for
            the log (share of units with P < delta).
        budget (dict, optional): The budget-aware mode (:class:`UnitBudget`:
            ``target``, ``cost``, ``gate_threshold``, ``min_keep``,
            ``multiplier_lr``, ``penalty``); None: the papers' mode.
        data_preprocessor (dict, optional): Defaults to the architecture's.
    """

    def __init__(self,
                 architecture: Union[dict, nn.Module],
                 modulator: dict,
                 modulated_layers: Optional[dict] = None,
                 descriptor: str = 'mix',
                 warmup_rounds: int = 5,
                 delta: float = 1e-3,
                 budget: Optional[dict] = None,
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
        # the backbone's family, resolved once: modulation, the budget's cost
        # model and the export read this plan
        self.family_plan = resolve_family(architecture.backbone)
        layer_cfg = dict(include=None, exclude=None)  # None: the family's
        if budget is not None:
            # only units that pruning removes: gating any other unit would
            # change the network the export cannot reproduce
            self.family_plan.strategy  # not prunable: name the families
            layer_cfg['include'] = [
                f'^{re.escape(name)}$'
                for name in self.family_plan.prunable_layer_names()
            ]
        layer_cfg.update(modulated_layers or {})
        self.layers = find_modulated_layers(self.family_plan, **layer_cfg)
        self.budget = None
        if budget is not None:
            self.budget = UnitBudget(**budget)
            self.budget.bind(self.family_plan,
                             [layer.name for layer in self.layers])
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
        self.per_batch = False
        self._phase_applied_for: Optional[tuple] = None
        self._descriptor_cache: Optional[List[torch.Tensor]] = None
        mnet = sum(p.numel() for p in self.modulator.parameters())
        tnet = sum(p.numel() for p in architecture.parameters())
        print_log(
            f'{type(self.modulator).__name__}: {mnet / 1e6:.3f} M parameters '
            f'({100 * mnet / tnet:.2f} % of the TNet\'s {tnet / 1e6:.2f} M), '
            f'{len(self.layers)} modulated layers, {total} units'
            + (f'; budget-aware, target {self.budget.target:g} of the '
               f'backbone\'s {self.budget.measure}' if self.budget else ''),
            logger='current')

    def _build_modulator(self, cfg: dict) -> nn.Module:
        cfg = copy.deepcopy(cfg)
        cfg.update(
            layer_units=[layer.num_units for layer in self.layers],
            num_features=num_descriptor_features(self.descriptor))
        modulator_cls = MODELS.get(cfg['type'])
        if modulator_cls is None:
            raise KeyError(f'modulator type {cfg["type"]!r} is not registered')
        if not issubclass(modulator_cls, BaseModulator):
            raise TypeError(f'{cfg["type"]} is not an astro_mm BaseModulator')
        if modulator_cls.grouped:
            cfg['layer_groups'] = assign_groups(
                self.layers, cfg.pop('num_astrocytes', 4))
        elif 'num_astrocytes' in cfg:
            raise ValueError(f'{cfg["type"]} has one astrocyte; remove '
                             'num_astrocytes from the modulator config')
        return MODELS.build(cfg)

    @property
    def prune_threshold(self) -> float:
        """Units with P below this are removed by the export: delta in the
        paper mode, the gate threshold in the budget-aware mode."""
        return self.budget.gate_threshold if self.budget else self.delta

    # ----------------------------------------------------------------- phases
    @staticmethod
    def phase_of(round_index: int, warmup_rounds: int,
                 per_batch: bool = False) -> str:
        """Algorithm 1's phase of round ``round_index`` (1-based)."""
        if round_index <= warmup_rounds:
            return 'warmup'
        if per_batch:
            return 'batch'
        return 'phi' if round_index % 2 == 0 else 'tnet'

    @property
    def phase(self) -> str:
        return self.phase_of(max(int(self.round), 1), self.warmup_rounds,
                             self.per_batch)

    def set_round(self, round_index: int, per_batch: bool = False) -> None:
        """Enter round ``round_index`` (1-based); idempotent within a round.

        Args:
            round_index (int): The round, from the runner's counters.
            per_batch (bool): A Phi-step and a W-step on every batch.
        """
        self.per_batch = per_batch
        if round_index != int(self.round):
            self._begin_round(round_index)
        if self._phase_applied_for != (round_index, per_batch):
            # W and Phi are frozen by requires_grad in their rounds; a
            # per-batch step takes gradients of one side at a time itself
            training_phi = self.phase == 'phi'
            self.architecture.requires_grad_(not training_phi)
            self.modulator.requires_grad_(training_phi or per_batch)
            self._phase_applied_for = (round_index, per_batch)

    def _flat(self, rows: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(rows))

    def _rows(self, flat: torch.Tensor) -> List[torch.Tensor]:
        return list(flat.split(self._split))

    @torch.no_grad()
    def _begin_round(self, round_index: int) -> None:
        started = int(self.round) > self.warmup_rounds
        self.round.fill_(round_index)
        self._descriptor_cache = None
        if round_index <= self.warmup_rounds:
            return
        # history: the weights at the start of this and of the last round
        current = self._flat(weight_descriptors(self.layers, self.descriptor))
        if not bool(self.snapshot.any()):
            self.snapshot.copy_(current)
        if self.phase == 'tnet':
            # the P of the final Phi-state: its state, the last descriptors
            self.cached_probs.copy_(self._flat(self._read_probs()))
        self.previous_snapshot.copy_(self.snapshot)
        self.snapshot.copy_(current)
        if started:
            _unwrap(self.modulator).end_round()

    def _descriptors(self) -> List[torch.Tensor]:
        # W changes only in W-rounds, where P is cached: one read per round
        if self._descriptor_cache is None or self.phase != 'phi':
            self._descriptor_cache = weight_descriptors(
                self.layers, self.descriptor)
        return self._descriptor_cache

    def _modulate(self, with_reg: bool, modulator: Optional[nn.Module] = None):
        """The MNet's logits and losses, in fp32 whatever the autocast."""
        descriptors = self._descriptors()
        modulator = self.modulator if modulator is None else modulator
        with torch.autocast(descriptors[0].device.type, enabled=False):
            return modulator(descriptors, self._rows(self.previous_snapshot),
                             with_reg=with_reg)

    def _probs(self, logits: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        if self.budget is not None:
            return self.budget.probabilities(logits)
        return [torch.sigmoid(z) for z in logits]

    def _train_gates(self, logits: Sequence[torch.Tensor]
                     ) -> List[torch.Tensor]:
        """What scales the units in a Phi-step, differentiable in the
        logits: P (paper mode) or the straight-through hard gates."""
        if self.budget is not None:
            return self.budget.gates(logits)
        return self._probs(logits)

    @torch.no_grad()
    def _read_probs(self) -> List[torch.Tensor]:
        """P of the MNet's current state, leaving every buffer as it is."""
        logits, _ = self._modulate(with_reg=False,
                                   modulator=_unwrap(self.modulator))
        return self._probs(logits)

    def current_probs(self) -> Optional[List[torch.Tensor]]:
        """P of the modulated units now (None: the plain network). In a
        paper-mode Phi-round the MNet's current output, else the P cached
        from the final Phi-state."""
        if self.phase == 'warmup':
            return None
        if self.phase == 'phi' and self.budget is None:
            return self._read_probs()
        return self._rows(self.cached_probs)

    def current_gates(self) -> Optional[List[torch.Tensor]]:
        """What scales the units in the TNet now: P, or in the budget-aware
        mode the hard gates it realizes."""
        probs = self.current_probs()
        if probs is None or self.budget is None:
            return probs
        return self.budget.hard_gates(probs)

    # ------------------------------------------------------------- training
    def train_step(self, data, optim_wrapper: OptimWrapperDict
                   ) -> Dict[str, torch.Tensor]:
        """One step of the current phase: update W, Phi, or Phi then W."""
        data = self.data_preprocessor(data, True)
        if self.phase == 'phi':
            log_vars = self._phi_step(data, optim_wrapper)
        elif self.phase == 'batch':
            phi_vars = self._phi_step(data, optim_wrapper)
            log_vars = self._tnet_step(data, optim_wrapper['tnet'])
            log_vars.update((key, value) for key, value in phi_vars.items()
                            if key not in log_vars)
        else:
            log_vars = self._tnet_step(data, optim_wrapper['tnet'])
        # the P of the step just taken: cached by the Phi-step (no second
        # MNet forward for the log) or by the W-round's start
        probs = self._rows(self.cached_probs) \
            if self.phase != 'warmup' else None
        flat = self._flat(probs).detach() if probs else None
        log_vars.update(
            round=float(self.round),
            phase=float(PHASES.index(self.phase)),
            mean_p=float(flat.mean()) if flat is not None else 1.0,
            p_below_delta=float((flat < self.prune_threshold).float().mean())
            if flat is not None else 0.0)
        if self.budget is not None:
            log_vars.update(
                kept_ratio=self.budget.kept_ratio(probs) if probs else 1.0,
                multiplier=float(self.budget.multiplier))
        return log_vars

    def _tnet_step(self, data, wrapper) -> Dict[str, torch.Tensor]:
        self.scaler.probs = self.current_gates()
        with wrapper.optim_context(self.architecture):
            losses = self.architecture(**data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        wrapper.update_params(parsed)
        return log_vars

    def _chain(self, names: List[str]) -> List[List[str]]:
        """The MNet's optimizer steps in order: with a chain of
        per-astrocyte optimizers, [shared + A_1], [A_2], ... [A_M]; else
        every optimizer at once."""
        modulator = _unwrap(self.modulator)
        astrocytes = [f'mnet_a{j + 1}' for j in range(modulator.num_astrocytes)]
        if not modulator.chained or \
                not set(astrocytes) <= set(names):
            return [names]
        shared = [n for n in names if n not in astrocytes]
        return [shared + astrocytes[:1]] + [[n] for n in astrocytes[1:]]

    def _phi_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        names = [name for name in optim_wrapper.keys()
                 if name.startswith('mnet')]
        if not names:
            raise KeyError('a Phi-step needs optim wrappers named mnet*, got '
                           f'{list(optim_wrapper.keys())}')
        logits, aux = self._modulate(with_reg=True)
        leaves = [g.detach().requires_grad_()
                  for g in self._train_gates(logits)]
        self.scaler.probs = leaves
        # the TNet outside its DDP wrapper: only dL/d(gate) is taken, W
        # does not move and its batch-norm statistics stay
        architecture = _unwrap(self.architecture)
        tnet_wrapper = optim_wrapper['tnet'] if 'tnet' in optim_wrapper.keys() \
            else optim_wrapper[names[0]]
        with frozen_norm_statistics(architecture):
            with tnet_wrapper.optim_context(architecture):
                losses = architecture(**data, mode='loss')
            data_loss, log_vars = self.parse_losses(losses)
            # inside: the backward reads the statistics' tensors as saved
            task_grads = torch.autograd.grad(data_loss, leaves,
                                             allow_unused=True)
        self.scaler.probs = None
        for key, value in aux.items():
            log_vars[key] = value.detach()
        for step, group in enumerate(self._chain(names)):
            if step > 0:  # A_j sees what A_1 ... A_{j-1} give after their step
                logits, aux = self._modulate(with_reg=True)
            gates = self._train_gates(logits)
            loss = sum((g * p).sum() for g, p in zip(task_grads, gates)
                       if g is not None)
            loss = loss + sum(v for k, v in aux.items() if k.startswith('loss'))
            if self.budget is not None:
                budget_loss = self.budget.loss(logits)
                loss = loss + budget_loss
                if step == 0:
                    log_vars['loss_budget'] = budget_loss.detach()
            optim_wrapper[group[0]].backward(loss)
            for name in group:
                optim_wrapper[name].step()
            for name in names:
                optim_wrapper[name].zero_grad()
        probs = self._read_probs()
        self.cached_probs.copy_(self._flat(probs))
        if self.budget is not None:
            self.budget.update_multiplier(self.budget.kept_ratio(probs))
        return log_vars

    # ------------------------------------------------------------ inference
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """The TNet's forward under the current gates (for val / test)."""
        self.scaler.probs = self.current_gates()
        return self.architecture(inputs, data_samples, mode=mode)
