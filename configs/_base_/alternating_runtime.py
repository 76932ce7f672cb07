# Algorithm 1's training machinery, shared by every AstroNet / MA-Net config
# (named alternating_* because the plain config they wrap already defines
# optim_wrapper; each config assigns them):
# - the hook that sets the round: one round per epoch, as the paper (the
#   authors' code alternates every batch: alternation='per_batch');
# - one optimizer for the TNet plus one for the MNet (one per sub-astrocyte
#   for MA-Net's chain), SGD lr 0.1 as the paper. A list of param_scheduler
#   applies to every optimizer; a dict keyed tnet / mnet / mnet_a1... gives
#   each its own. With SGD 0.1, momentum 0.9 and no clipping AstroNet's P
#   collapsed (mean P 0.96 -> 0.31 in five Phi-steps when issue 8 was
#   filed; 0.95 -> 0.38 on the demo set, benchmarks/RESULTS.md): its shared
#   bias and convolutions sum every unit's gradient.
#   The paper configs keep it, to reproduce the papers as written;
#   astro_mm's own (budget-aware) configs use budget_optim_wrapper below.
alternating_hook = dict(
    type='astro_mm.AlternationHook', round_unit='epoch', round_interval=1)
# P of every unit, recorded every `interval` iterations into the work dir
# (p_history.npz), for the P histograms of tools/analysis_tools and the suites.
probability_history_hook = dict(
    type='astro_mm.ProbabilityHistoryHook', interval=100)
alternating_optim_wrapper = dict(
    _delete_=True,
    constructor='astro_mm.AlternatingOptimWrapperConstructor',
    tnet=dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)),
    mnet=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
    per_astrocyte=True)
# Under DDP, TNet and MNet are wrapped separately and the algorithm's own
# train_step runs (mmengine's default wrapper would bypass it): in a W-round
# only the TNet syncs gradients, in a Phi-round only the MNet.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)

# astro_mm's budget-aware mode (METHOD.md; astro_mm.models.algorithms.budget):
# a Phi-step and a W-step on every batch (the authors' code), rounds of 100
# iterations carrying MA-Net's state, and the MNet on AdamW with gradient
# clipping (its per-unit decoder biases need steps that do not depend on the
# size of the task gradient).
budget_hook = dict(
    type='astro_mm.AlternationHook', round_unit='iter', round_interval=100,
    alternation='per_batch')
budget_optim_wrapper = dict(
    _delete_=True,
    constructor='astro_mm.AlternatingOptimWrapperConstructor',
    tnet=dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)),
    mnet=dict(
        optimizer=dict(type='AdamW', lr=3e-3, weight_decay=0.),
        clip_grad=dict(max_norm=1.0)),
    per_astrocyte=True)
