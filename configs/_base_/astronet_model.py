# AstroNet with the paper's defaults: a UNet-shaped AN (supp. Tab. 1),
# T = 6 temporal iterations, lambda = 1e-3 (supp. Tab. 2), mixed G
# (supp. Tab. 3), R_TN = 5 warm-up rounds.
astronet_modulator = dict(
    type='astro_mm.AstroNetModulator',
    shape='unet',
    num_iters=6,
    temporal_weight=1e-3)
astronet_algorithm = dict(
    type='astro_mm.AlternatingAlgorithm',
    modulator=astronet_modulator,
    descriptor='mix',
    warmup_rounds=5,
    delta=1e-3)
