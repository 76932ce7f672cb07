"""Checks that data-parallel replicas hold the same parameters and buffers."""
from typing import List, Tuple

import torch
from mmengine.dist import all_gather, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from astro_mm.registry import HOOKS

PARAMETER, BUFFER, PER_REPLICA = 'parameter', 'buffer', 'per-replica buffer'


def per_replica_buffers(model: nn.Module) -> List[str]:
    """Names of the buffers DDP keeps per replica by design.

    The running statistics of a (non-synchronized) BatchNorm are updated from
    each replica's own batches and differ across processes unless the model
    uses SyncBN or the buffers are synchronized (mmengine's
    ``SyncBuffersHook``).
    """
    names = []
    for prefix, module in model.named_modules():
        if isinstance(module, _BatchNorm) and not isinstance(
                module, nn.SyncBatchNorm):
            names += [
                f'{prefix}.{name}' if prefix else name
                for name, _ in module.named_buffers(recurse=False)
            ]
    return names


def checksums(tensors: List[torch.Tensor]) -> torch.Tensor:
    """Two checksums per tensor, shape (N, 2): the sum of absolute values and
    a position-weighted sum (which also catches permuted entries)."""
    rows = []
    for tensor in tensors:
        flat = tensor.detach().double().flatten()
        weights = torch.linspace(1.0, 2.0, flat.numel(), dtype=torch.float64,
                                 device=flat.device)
        rows.append(torch.stack([flat.abs().sum(), (flat * weights).sum()]))
    if not rows:
        return torch.zeros(0, 2, dtype=torch.float64)
    return torch.stack(rows).cpu()


@HOOKS.register_module()
class ReplicaConsistencyHook(Hook):
    """After training, compare every parameter and buffer across processes.

    Data parallelism must leave all replicas identical; a parameter or buffer
    that no sync covers (e.g. one updated outside DDP, such as the P cached
    for a W-round or MA-Net's LSTM state) silently diverges. Each process
    reduces every tensor to checksums, the checksums are gathered, and a
    mismatch raises, naming the first differing tensors.

    BatchNorm running statistics are per replica by design (see
    :func:`per_replica_buffers`); they are compared only with
    ``strict_norm_stats=True``, otherwise their largest difference is logged.

    Args:
        atol (float): Tolerated absolute difference of the checksums.
        strict_norm_stats (bool): Also require equal BatchNorm running
            statistics (for SyncBN models or with ``SyncBuffersHook``).
    """
    priority = 'LOWEST'

    def __init__(self, atol: float = 1e-6, strict_norm_stats: bool = False):
        self.atol = atol
        self.strict_norm_stats = strict_norm_stats

    def after_train(self, runner) -> None:
        if get_world_size() < 2:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        kinds, names, local = self.local_checksums(model)
        gathered = torch.stack(all_gather(local))  # (processes, N, 2)
        spread = (gathered.amax(dim=0) - gathered.amin(dim=0)).amax(dim=1)
        bad = [
            f'{kind} {name}'
            for kind, name, diff in zip(kinds, names, spread.tolist())
            if kind != PER_REPLICA and diff > self.atol
        ]
        if bad:
            raise RuntimeError(
                f'DDP replicas diverged in {len(bad)} tensors, first: '
                f'{bad[:5]}')
        runner.logger.info(self._summary(kinds, spread))

    def local_checksums(self, model: nn.Module
                        ) -> Tuple[List[str], List[str], torch.Tensor]:
        """Kind (``PARAMETER``, ``BUFFER``, ``PER_REPLICA``), name and
        checksums of every tensor of this process's replica."""
        per_replica = set() if self.strict_norm_stats else set(
            per_replica_buffers(model))
        kinds, names, tensors = [], [], []
        for name, param in model.named_parameters():
            kinds.append(PARAMETER)
            names.append(name)
            tensors.append(param)
        for name, buf in model.named_buffers():
            kinds.append(PER_REPLICA if name in per_replica else BUFFER)
            names.append(name)
            tensors.append(buf)
        return kinds, names, checksums(tensors)

    def _summary(self, kinds: List[str], spread: torch.Tensor) -> str:
        count = {kind: kinds.count(kind) for kind in (PARAMETER, BUFFER,
                                                      PER_REPLICA)}
        message = (f'replicas consistent: {count[PARAMETER]} parameters and '
                   f'{count[BUFFER]} buffers equal on {get_world_size()} '
                   'processes')
        if count[PER_REPLICA]:
            largest = max(d for k, d in zip(kinds, spread.tolist())
                          if k == PER_REPLICA)
            message += (f'; {count[PER_REPLICA]} BatchNorm running statistics '
                        'not compared (per replica without SyncBN), largest '
                        f'checksum difference {largest:.3g}')
        return message
