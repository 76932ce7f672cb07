# The MNet at a constant lr (the paper-mode sensitivity study, configs/
# suites/paper-mode-sensitivity_fashion-mnist-holdout5k.py): by default a
# list of param_scheduler applies to every optimizer of Algorithm 1, so the
# MNet's lr follows the TNet's warm-up and cosine down to ~5e-6 in the last
# epoch. A dict keyed by the optimizers' names gives each its own list;
# these entries give every MNet optimizer none (its lr stays the
# optimizer's own). mmengine looks up one entry per wrapper of the
# OptimWrapperDict (AlternatingOptimWrapperConstructor: tnet, mnet and, per
# sub-astrocyte, mnet_a1 ... mnet_aM), so this holds one for up to eight
# sub-astrocytes; extra keys are not read. Uniquely named, so that a config
# can take it beside another base; a config writes
#
#   param_scheduler = dict(_delete_=True, tnet=<the TNet's list>,
#                          **_base_.constant_mnet_schedulers)
constant_mnet_schedulers = dict(
    mnet=[], **{f'mnet_a{j}': []
                for j in range(1, 9)})
