"""What moves P under the papers' objective (issue 25, section 3): a
one-seed sensitivity study of the choices the papers leave open.

Fashion-MNIST on the hold-out split (55,000 training images, 5,000 held out
for validation, the official 10,000 for test: configs/_base_/datasets/
fashion-mnist_holdout-5k.py), ResNet-20 with a stride-2 stem, 5 epochs in
float32 on every machine (the suite's ``cfg_options``: the AstroNet rows
ran on a CPU without native bfloat16, where the wrapper falls back to
float32, and the MA-Net rows must not train in another precision than
theirs), seed 0. Every row is paper-faithful AstroNet or MA-Net
(the papers' objective and optimizers) and changes one choice of the
baseline (``astronet`` / ``manet``), each config's docstring says which
and why:

* ``warmup1e``: W trains alone for ~1 epoch (450 iterations) instead of 50;
* ``mnetconst``: the MNet's optimizers at a constant lr 0.1 instead of the
  TNet's cosine;
* ``p05``: P starts at 0.5 instead of 0.95;
* ``urounds`` (AstroNet): the temporal term across Phi-rounds instead of
  the T iterations of one forward;
* ``urms`` (AstroNet): the same with U(P) = P / sqrt(n), under which e^1
  is not constant;
* ``hardviews`` (MA-Net): L_reg's views with 30 % noise and 4 extra
  shuffled-unit negatives.

Every run is pruned at delta = 1e-3 as the papers do (no fine-tune: the
question is whether delta removes anything). The table (mean and spread of
the final P, share of units below delta, parameters delta removes, top-1,
the last e^t / L_reg) is printed by benchmarks/paper_mode_sensitivity.py.

    python tools/run_suite.py \\
        configs/suites/paper-mode-sensitivity_fashion-mnist-holdout5k.py
    python benchmarks/paper_mode_sensitivity.py
"""
SUFFIX = '_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist-holdout5k.py'
VARIANTS = dict(
    astronet=('', 'warmup1e', 'mnetconst', 'p05', 'urounds', 'urms'),
    manet=('', 'warmup1e', 'mnetconst', 'p05', 'hardviews'))

suite = dict(
    name='paper-mode-sensitivity_fashion-mnist-holdout5k',
    title='Fashion-MNIST (hold-out split), ResNet-20 (stride-2 stem), 5 '
    'epochs (float32), seed 0: paper-faithful AstroNet / MA-Net, one open '
    'choice changed per row, pruned at delta = 1e-3',
    seeds=[0],
    prepare=['fashion_mnist'],
    input_size=28,
    workers=2,
    cfg_options=['optim_wrapper.dtype=float32'],
    archive='benchmarks/runs/paper-mode-sensitivity_fashion-mnist-holdout5k')

runs = [
    dict(name=f'{method}_{variant}' if variant else method,
         task='cls',
         method=method,
         label=f'ResNet-20 paper-faithful {variant or "baseline"}',
         config=f'configs/{method}/{method}'
         f'{"-" + variant if variant else ""}{SUFFIX}',
         prune=dict(delta=dict(threshold=1e-3, finetune=False)))
    for method, variants in VARIANTS.items() for variant in variants
]
