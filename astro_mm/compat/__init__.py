"""Every patch astro_mm applies to its 2024 OpenMMLab stack, in one place.

The stack (mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0, mmpretrain 1.2.0) was
released before torch 2.6; astro_mm runs it on torch 2.11. Each patch below
says what breaks without it.

The patches are opt-in, never a side effect of ``import astro_mm`` (which a
config's ``custom_imports`` does inside anyone's project):

* astro_mm's tools (``tools/train.py``, ``tools/test.py``,
  ``tools/prune.py``, the suite runner) call :func:`apply_patches`
  (idempotent) before they read a config;
* astro_mm's configs opt in through their ``_base_`` runtime,
  ``custom_imports = dict(imports=['astro_mm', 'astro_mm.compat.enable'])``,
  so the patches are active inside mmdet's and mmpretrain's own tools too
  when they run an astro_mm config; importing :mod:`astro_mm.compat.enable`
  calls :func:`apply_patches`. A config of yours gets them by listing the
  same module; without it, mmengine behaves as it does without astro_mm.

1. Checkpoint loading (torch >= 2.6 ``weights_only=True`` default):
   mmengine's local loader calls ``torch.load`` without ``weights_only`` and
   torch refuses mmengine's own checkpoints. Replaced by
   :func:`checkpoint.load_checkpoint_file`: ``weights_only=True`` with an
   allow-list, malicious pickles refused, explicit opt-in for trusted files.
2. Atomic local writes: mmengine writes checkpoints and ``last_checkpoint``
   in place, so a crash mid-write leaves a truncated file that ``--resume``
   then picks up. ``LocalBackend.put`` / ``put_text`` now write a temp file
   and ``os.replace`` it. A process killed mid-write leaves only its temp
   file; the next write into that folder deletes such leftovers (this
   writer's naming pattern, from processes of this machine that no longer
   run), so ``last_checkpoint`` always names a complete file.
3. Distributed training on CPU: mmengine's ``init_dist('pytorch')`` calls
   ``torch.cuda.set_device`` unconditionally, so torchrun / slurm jobs fail
   on machines without a GPU ("Found no NVIDIA driver"). Without CUDA the
   process group is now initialized directly (gloo; tools pick gloo when no
   GPU is visible). The runner also hands every DDP wrapper
   ``device_ids=[LOCAL_RANK]``, which torch rejects for CPU modules; without
   CUDA, ``MMDistributedDataParallel`` now drops ``device_ids`` /
   ``output_device`` (this covers MMSeparateDistributedDataParallel too).

Not a patch: strict pretrained weights. mmengine's
``init_cfg=dict(type='Pretrained')`` loads non-strictly, so a wrong
``prefix`` or a checkpoint of another architecture leaves weights randomly
initialized with only a log line. astro_mm's configs ask for
:class:`strict_pretrained.StrictPretrainedInit` per init_cfg,
``dict(type='Pretrained', _scope_='astro_mm', ...)``: a tensor of the module
missing from the checkpoint, or of another shape, raises
:class:`PretrainedMismatchError` naming the checkpoint and the first few
keys; tensors the module does not have (``fc.*``, heads) are skipped;
``strict=False`` allows a partial load on purpose. ``type='Pretrained'``
alone stays mmengine's.
"""
from .checkpoint import (TRUSTED_ENV, UnsafeCheckpointError,
                         atomic_write_bytes, load_checkpoint_file,
                         load_from_safe_local, remove_stale_temp_files,
                         stale_temp_files, trusted_checkpoints)
from .strict_pretrained import PretrainedMismatchError, StrictPretrainedInit

_applied = False


def patches_applied() -> bool:
    """Whether :func:`apply_patches` ran in this process."""
    return _applied


def _patch_checkpoint_loader() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_safe_local, force=True)


def _patch_atomic_local_writes() -> None:
    from mmengine.fileio.backends import LocalBackend

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)

    put.__doc__ = LocalBackend.put.__doc__
    put_text.__doc__ = LocalBackend.put_text.__doc__
    LocalBackend.put = put
    LocalBackend.put_text = put_text


def _patch_cpu_distributed_init() -> None:
    import torch
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils

    cuda_init = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend='nccl', init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return cuda_init(backend, init_backend=init_backend, **kwargs)
        torch_dist.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_pytorch = _init_dist_pytorch

    cuda_slurm_init = dist_utils._init_dist_slurm

    def _init_dist_slurm(backend, port=None, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return cuda_slurm_init(backend, port=port,
                                   init_backend=init_backend, **kwargs)
        # mmengine's environment from SLURM's, without the GPU binding
        import os
        import subprocess
        env = os.environ
        proc_id, ntasks = int(env['SLURM_PROCID']), int(env['SLURM_NTASKS'])
        env['MASTER_PORT'] = str(port or env.get('MASTER_PORT', 29500))
        if 'MASTER_ADDR' not in env:
            env['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {env["SLURM_NODELIST"]} | head -n1')
        env.update(WORLD_SIZE=str(ntasks), RANK=str(proc_id),
                   LOCAL_RANK=env.get('SLURM_LOCALID', '0'))
        torch_dist.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_slurm = _init_dist_slurm

    from mmengine.model import MMDistributedDataParallel
    ddp_init = MMDistributedDataParallel.__init__

    def __init__(self, module, *args, **kwargs):
        if not torch.cuda.is_available():
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        ddp_init(self, module, *args, **kwargs)

    MMDistributedDataParallel.__init__ = __init__


def apply_patches() -> None:
    """Apply every patch of this module once (idempotent).

    Called by astro_mm's tools and by importing
    :mod:`astro_mm.compat.enable`; never by ``import astro_mm``.
    """
    global _applied
    if _applied:
        return
    _patch_checkpoint_loader()
    _patch_atomic_local_writes()
    _patch_cpu_distributed_init()
    _applied = True


__all__ = [
    'apply_patches', 'patches_applied', 'load_checkpoint_file',
    'trusted_checkpoints',
    'UnsafeCheckpointError', 'TRUSTED_ENV', 'atomic_write_bytes',
    'StrictPretrainedInit', 'PretrainedMismatchError', 'stale_temp_files',
    'remove_stale_temp_files'
]
