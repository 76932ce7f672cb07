# The converged Fashion-MNIST study's schedule (configs/suites/
# converged-study_fashion-mnist.py): 5 epochs, the forward in bfloat16
# autocast. On a CPU with native bfloat16 (avx512_bf16) a ResNet-20 training
# step runs 1.95x faster in bfloat16 than in float32 (benchmarks/
# autocast_speed.py), at the same top-1 within seed noise (benchmarks/
# fm_convergence.py, runs 1x and 1x_fp32; RESULTS.md); that is what buys the
# study the epochs that bring it within 1 point of a schedule twice as long.
# Uniquely named, so that a config can take it beside another base (mmengine
# refuses a key defined in two bases): assign them to optim_wrapper,
# param_scheduler and train_cfg. The wrapper's type and dtype merge into a
# single wrapper and into AlternatingOptimWrapperConstructor's shared keys
# alike.
amp_wrapper = dict(type='astro_mm.AutocastOptimWrapper', dtype='bfloat16')
amp_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=5, eta_min=0.,
         convert_to_iter_based=True),
]
amp_train_cfg = dict(max_epochs=5, val_interval=5)
