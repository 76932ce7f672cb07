# MA-Net with the paper's defaults: M = 4 sub-astrocytes (one per ResNet
# stage), K = 4 LSTM layers each, chain joint function, lambda = 0.1,
# delta = 1e-3, R_TN = 5 warm-up rounds (the authors' code).
manet_modulator = dict(
    type='astro_mm.MANetModulator',
    num_astrocytes=4,
    num_lstm=4,
    token_dim=64,
    joint='chain',
    reg_weight=0.1)
manet_algorithm = dict(
    type='astro_mm.AlternatingAlgorithm',
    modulator=manet_modulator,
    descriptor='mix',
    warmup_rounds=5,
    delta=1e-3)
