"""Budget pruning on real data (benchmarks/budget_pruning.py runs it):
Fashion-MNIST, ResNet-20 (CIFAR ResNet, 0.27 M parameters), 3 seeds, every
pruned network at the same parameter budget t = 0.6 and with the same
fine-tune, beside the plain network given that fine-tune too:

* plain: trained, then fine-tuned unpruned (the reference);
* random: the trained plain network, a random mask at the budget (units in
  a random order, the longest prefix that fits), BN recalibrated,
  fine-tuned;
* MA-Net and AstroNet, budget-aware (target 0.6): trained under hard gates,
  pruned at the gate threshold, BN recalibrated, fine-tuned.

Schedule (chosen so the whole benchmark fits 90 minutes on a 2-core CPU,
where ResNet-20 trains at about 0.7 s per batch of 128): the first 6,000 of
the 60,000 training images, 4 training epochs (no validation inside; the
test evaluates), 2 fine-tune epochs at lr 0.01; all 10,000 test images.
"""
suite = dict(
    name='budget-pruning_fashion-mnist',
    title='Fashion-MNIST (real data), ResNet-20, budget 0.6: plain / random '
    '/ MA-Net / AstroNet (budget-aware), same fine-tune, 3 seeds',
    seeds=[0, 1, 2],
    prepare=['fashion_mnist'],
    input_size=28,
    finetune=dict(epochs=2, lr=0.01))

schedule = [
    'train_dataloader.dataset.indices=6000', 'train_cfg.max_epochs=4',
    'train_cfg.val_begin=100000', 'param_scheduler.1.T_max=4'
]
runs = [
    dict(name='plain', task='cls', method='plain', label='ResNet-20',
         config='configs/resnet/resnet20-cifar_1xb128-15e_fashion-mnist.py',
         cfg_options=schedule, finetune_unpruned=True,
         prune=dict(random=dict(param_budget=0.6, method='random'))),
    dict(name='manet', task='cls', method='manet', label='ResNet-20',
         config='configs/manet/'
         'manet-budget60_resnet20-cifar_1xb128-15e_fashion-mnist.py',
         cfg_options=schedule, prune=dict(gates=dict(threshold=0.5))),
    dict(name='astronet', task='cls', method='astronet', label='ResNet-20',
         config='configs/astronet/'
         'astronet-budget60_resnet20-cifar_1xb128-15e_fashion-mnist.py',
         cfg_options=schedule, prune=dict(gates=dict(threshold=0.5))),
]
