"""MA-Net Tab. 12: the joint function U, RNT18 on CIFAR-10 (data/cifar10):
Case 1 independent, Case 2 independent with each astrocyte's own history,
Case 3 chain, Ours chain with history; pruned at delta = 1e-3."""
suite = dict(name='manet-tab12_cifar10', input_size=32, seeds=[0, 1, 2, 3, 4],
             title='MA-Net Tab. 12: joint function U (RNT18, CIFAR-10)')
cases = [('case1', 'Case 1: independent', 'manet-case1', 96.54, 7.33),
         ('case2', 'Case 2: independent + history', 'manet-case2', 96.57, 7.29),
         ('case3', 'Case 3: chain', 'manet-case3', 96.79, 6.97),
         ('ours', 'Ours: chain + history', 'manet', 96.81, 6.94)]
runs = [
    dict(name='plain', task='cls', method='plain', label='RNT18',
         config='configs/resnet/resnet18-cifar_8xb16-200e_cifar10.py',
         paper=dict(top1=94.96, params_M=11.17)),
] + [
    dict(name=name, task='cls', method='manet', label=label,
         config=f'configs/manet/{prefix}_resnet18-cifar_8xb16-200e_cifar10.py',
         prune=dict(delta=dict(threshold=1e-3, paper=dict(
             top1=top1, params_M=params))))
    for name, label, prefix, top1, params in cases
]
