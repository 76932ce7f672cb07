# Runtime of astro_mm's classification configs: mmpretrain's, plus the
# import that activates astro_mm's compatibility layer (safe checkpoint
# loading, atomic checkpoint writes) before any checkpoint is read.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(
    imports=['astro_mm', 'astro_mm.compat.enable'], allow_failed_imports=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
randomness = dict(seed=0, deterministic=False)
