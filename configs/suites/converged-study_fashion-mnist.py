"""The converged real-data study (issue "Real data answers the question",
section 1; the baselines of issue "A pruning benchmark worth the name").

Fashion-MNIST (Debian's package: real photographs of clothing), all 60,000
training images and all 10,000 test images; ResNet-20 (the CIFAR ResNet,
0.27 M parameters) with a stride-2 stem, 5 epochs in bfloat16 autocast, SGD
0.1 with a cosine decay per iteration (configs/resnet/resnet20-cifar-s2_
1xb128-amp-5e_fashion-mnist.py; configs/_base_/schedules/fashion-mnist_amp-
5e.py says why bfloat16 and 5 epochs; on a CPU without native bfloat16 the
units train in float32, AutocastOptimWrapper's fallback, and each unit's
result.json records its machine). Seeds 0, 1, 2 for every row.

Rows:

* plain, trained; and given the fine-tune below unpruned (the equal-
  schedule reference of every pruned row);
* CDS (contrastive deep supervision), trained;
* AstroNet and MA-Net, paper-faithful (the papers' objective and
  optimizers): pruned at delta = 1e-3 as the papers do (no fine-tune), and
  by their P to parameter budgets 0.6 and 0.4 (fine-tuned);
* AstroNet and MA-Net, budget-aware (astro_mm's mode, METHOD.md), one
  training per budget (target 0.6, target 0.4), pruned at their gates
  (fine-tuned);
* the standard pruners on the trained plain network of the same seed (one
  shared training per seed): random, L1-norm filters, BN-scale, Taylor,
  DepGraph group-norm (Torch-Pruning), at budgets 0.6 and 0.4 (fine-tuned);
  and the control ``cost``: astro_mm's export rule with one P for every
  unit (the costliest channels first), which is what a P-ranked export
  reduces to when P has not moved.

Every pruned row: the budget counts the backbone's parameters (the prunable
inner channels of each block); batch norms recalibrated on 50 training
batches; then the same fine-tune: 1 epoch over the 60,000 images at lr
0.01, cosine to 0 per iteration, in the training's precision.

Two units run at once, each tool on one thread (SuiteRunner's workers).
Its runtime, table and reading are in benchmarks/RESULTS.md. Resumable
(re-run the command), and every finished unit's results are archived in
benchmarks/runs/, so a fresh clone reprints the table without training.
The archive holds one run of the whole study on one machine with native
bfloat16 (about 131 minutes). Earlier archives are in git history at
benchmarks/runs/converged-study_fashion-mnist: the first run, 4 epochs in
float32, 163.6 minutes, at commit 4346ecf; a run in three parts on two
kinds of machine, 12 of its units in float32, at commit 311fbf8.

    python tools/run_suite.py configs/suites/converged-study_fashion-mnist.py
"""
suite = dict(
    name='converged-study_fashion-mnist',
    title='Fashion-MNIST (real data, 60k images), ResNet-20 (stride-2 stem), '
    '5 epochs (bfloat16), 3 seeds: plain / CDS / AstroNet / MA-Net (paper-faithful and '
    'budget-aware) / 5 standard pruners at budgets 0.6 and 0.4, same '
    '1-epoch fine-tune',
    seeds=[0, 1, 2],
    prepare=['fashion_mnist'],
    input_size=28,
    finetune=dict(epochs=1, lr=0.01),
    workers=2,
    # the study outlasts a session: finished units are committed here
    archive='benchmarks/runs/converged-study_fashion-mnist',
    summary=dict(
        name='fm_study',
        values=dict(
            top1_plain='plain.top1_finetuned',
            top1_cds='cds.top1',
            top1_manet_paper_delta='manet.pruned.delta.top1',
            params_ratio_manet_paper_delta='manet.pruned.delta.params_ratio',
            top1_manet_b60='manet_b60.pruned.b60.top1_finetuned',
            top1_astronet_b60='astronet_b60.pruned.b60.top1_finetuned',
            top1_l1_60='plain.pruned.l1_60.top1_finetuned',
            top1_taylor_60='plain.pruned.taylor_60.top1_finetuned',
            top1_manet_b40='manet_b40.pruned.b40.top1_finetuned',
            top1_l1_40='plain.pruned.l1_40.top1_finetuned')))

CONFIGS = dict(
    plain='configs/resnet/resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py',
    cds='configs/cds/cds_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py',
    astronet='configs/astronet/'
    'astronet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py',
    manet='configs/manet/manet_resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py',
    **{f'{method}_b{budget}': f'configs/{method}/{method}-budget{budget}_'
       'resnet20-cifar-s2_1xb128-amp-5e_fashion-mnist.py'
       for method in ('astronet', 'manet') for budget in (60, 40)})
PRUNERS = ('random', 'l1', 'bn_scale', 'taylor', 'group_norm')
BUDGETS = (60, 40)

runs = [
    dict(name='plain', task='cls', method='plain', label='ResNet-20',
         config=CONFIGS['plain'], finetune_unpruned=True,
         prune={f'{pruner}_{budget}': dict(param_budget=budget / 100,
                                           method=pruner)
                for pruner in PRUNERS + ('cost', ) for budget in BUDGETS}),
    dict(name='cds', task='cls', method='cds', label='ResNet-20',
         config=CONFIGS['cds']),
] + [
    dict(name=method, task='cls', method=method,
         label='ResNet-20 paper-faithful', config=CONFIGS[method],
         prune=dict(delta=dict(threshold=1e-3, finetune=False),
                    **{f'b{budget}': dict(param_budget=budget / 100)
                       for budget in BUDGETS}))
    for method in ('astronet', 'manet')
] + [
    dict(name=f'{method}_b{budget}', task='cls', method=method,
         # one training per budget: the label tells their rows apart
         label=f'ResNet-20 budget-aware {budget / 100:g}',
         config=CONFIGS[f'{method}_b{budget}'],
         prune={f'b{budget}': dict(threshold=0.5)})
    for method in ('astronet', 'manet') for budget in BUDGETS
]
