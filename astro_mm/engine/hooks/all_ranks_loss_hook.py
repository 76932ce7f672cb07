"""Logs each loss averaged over all processes: the total batch's loss."""
import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook

from astro_mm.registry import HOOKS


@HOOKS.register_module()
class AllRanksLossHook(Hook):
    """After each training iteration, log ``KEY_all_ranks``: every loss of
    the step's outputs averaged over the processes.

    mmengine logs rank 0's losses only, the loss of its own share of the
    batch. With equal per-process batches the mean over the ranks is the
    loss of the total batch, what a one-process run at that batch logs:
    the figure to compare a distributed run with one on fewer devices. One
    process logs its own loss under the same key.
    """

    priority = 'NORMAL'  # after RuntimeInfoHook, before LoggerHook

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        for key, value in sorted((outputs or {}).items()):
            if 'loss' not in key or not isinstance(value, torch.Tensor):
                continue
            mean = value.detach().float().clone()
            all_reduce(mean, op='mean')
            runner.message_hub.update_scalar(f'train/{key}_all_ranks',
                                             float(mean))
