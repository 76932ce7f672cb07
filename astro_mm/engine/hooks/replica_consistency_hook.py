"""Checks that data-parallel replicas hold the same parameters."""
import torch
from mmengine.dist import all_gather, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from astro_mm.registry import HOOKS


@HOOKS.register_module()
class ReplicaConsistencyHook(Hook):
    """After training, compare every parameter across the DDP processes.

    Data parallelism must leave all replicas identical; a parameter that no
    gradient sync covers (e.g. one updated outside DDP) silently diverges.
    Each process reduces every parameter to a checksum, the checksums are
    gathered, and a mismatch raises, naming the first differing parameters.

    Args:
        atol (float): Tolerated absolute difference of the checksums.
    """
    priority = 'LOWEST'

    def __init__(self, atol: float = 1e-6):
        self.atol = atol

    def after_train(self, runner) -> None:
        if get_world_size() < 2:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        names, params = zip(*model.named_parameters())
        local = torch.stack([p.detach().double().abs().sum() for p in params])
        gathered = all_gather(local)
        differs = (torch.stack(gathered) - local).abs().amax(0) > self.atol
        if differs.any():
            bad = [n for n, d in zip(names, differs.tolist()) if d][:5]
            raise RuntimeError(f'DDP replicas diverged in {int(differs.sum())} '
                               f'parameters, first: {bad}')
        runner.logger.info(f'replicas consistent: {len(names)} parameters '
                           f'equal on {get_world_size()} processes')
