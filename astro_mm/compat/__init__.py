"""Every patch astro_mm applies to its 2024 OpenMMLab stack, in one place.

The stack (mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0, mmpretrain 1.2.0) was
released before torch 2.6; astro_mm runs it on torch 2.11. Each patch below
says what breaks without it. :func:`apply_patches` is idempotent and runs on
``import astro_mm``; configs import astro_mm through ``custom_imports`` so the
patches are active inside mmdet's and mmpretrain's own tools too.

1. Checkpoint loading (torch >= 2.6 ``weights_only=True`` default):
   mmengine's local loader calls ``torch.load`` without ``weights_only`` and
   torch refuses mmengine's own checkpoints. Replaced by
   :func:`checkpoint.load_checkpoint_file`: ``weights_only=True`` with an
   allow-list, malicious pickles refused, explicit opt-in for trusted files.
2. Atomic local writes: mmengine writes checkpoints and ``last_checkpoint``
   in place, so a crash mid-write leaves a truncated file that ``--resume``
   then picks up. ``LocalBackend.put`` / ``put_text`` now write a temp file
   and ``os.replace`` it.
"""
from .checkpoint import (TRUSTED_ENV, UnsafeCheckpointError,
                         atomic_write_bytes, load_checkpoint_file,
                         trusted_checkpoints)

_applied = False


def _patch_checkpoint_loader() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader

    from .checkpoint import load_from_safe_local
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


def apply_patches() -> None:
    """Apply every patch of this module once."""
    global _applied
    if _applied:
        return
    _patch_checkpoint_loader()
    _patch_atomic_local_writes()
    _applied = True


__all__ = [
    'apply_patches', 'load_checkpoint_file', 'trusted_checkpoints',
    'UnsafeCheckpointError', 'TRUSTED_ENV', 'atomic_write_bytes'
]
