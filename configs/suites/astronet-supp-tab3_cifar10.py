"""AstroNet supp. Tab. 3: the global connection function G (average,
largest, mixture), ResNet-18 on CIFAR-10 (data/cifar10), pruned at
delta = 1e-3."""
suite = dict(name='astronet-supp-tab3_cifar10', input_size=32,
             seeds=[0, 1, 2, 3, 4],
             title='AstroNet supp. Tab. 3: G (ResNet-18, CIFAR-10)')
runs = [
    dict(name=f'g-{g}', task='cls', method='astronet', label=label,
         config=config, prune=dict(delta=dict(threshold=1e-3, paper=dict(
             top1=top1, params_M=params))))
    for g, label, config, top1, params in (
        ('avg', 'G avg', 'configs/astronet/astronet-gavg_resnet18-cifar_8xb16-200e_cifar10.py', 94.32, 7.6),
        ('max', 'G max', 'configs/astronet/astronet-gmax_resnet18-cifar_8xb16-200e_cifar10.py', 94.31, 7.8),
        ('mix', 'G mix', 'configs/astronet/astronet_resnet18-cifar_8xb16-200e_cifar10.py', 94.35, 7.6))
]
