"""Batch-norm recalibration after pruning.

Removing units (and folding P) changes what every later batch norm sees,
so the running statistics collected before pruning no longer describe the
pruned network. As in network slimming / DepGraph pipelines, they are
re-estimated on training batches before evaluation or fine-tuning: reset,
then a cumulative average (``momentum=None``) over ``num_batches`` forward
passes in training mode, without gradients. Only the statistics change.
"""
from typing import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, batches: Iterable,
                           num_batches: int = 50) -> int:
    """Re-estimate the running statistics of ``model``'s batch norms.

    Args:
        model (nn.Module): An mmengine model (``data_preprocessor`` and
            ``forward(inputs, data_samples, mode='tensor')``), e.g. a pruned
            mmpretrain classifier.
        batches (Iterable): Data batches as a dataloader yields them.
        num_batches (int): How many batches to average over.

    Returns:
        int: The number of batches seen.

    Raises:
        ValueError: ``num_batches`` < 1, or the loader gave no batch.
    """
    if num_batches < 1:
        raise ValueError(f'num_batches must be >= 1, got {num_batches}')
    norms = [m for m in model.modules()
             if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not norms:
        return 0
    momenta = [norm.momentum for norm in norms]
    was_training = model.training
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches
    model.train()
    seen = 0
    try:
        for batch in batches:
            if seen == num_batches:
                break
            data = model.data_preprocessor(batch, False)
            model(data['inputs'], data.get('data_samples'), mode='tensor')
            seen += 1
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.train(was_training)
    if seen == 0:
        raise ValueError('recalibrate_batch_norm: the data loader gave no '
                         'batch')
    return seen
