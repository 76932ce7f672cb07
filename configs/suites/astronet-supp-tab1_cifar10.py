"""AstroNet supp. Tab. 1: the AN's shape (CNN, FCN, UNet), ResNet-18 on
CIFAR-10 (data/cifar10), pruned at delta = 1e-3."""
suite = dict(name='astronet-supp-tab1_cifar10', input_size=32,
             seeds=[0, 1, 2, 3, 4],
             title='AstroNet supp. Tab. 1: AN shape (ResNet-18, CIFAR-10)')
runs = [
    dict(name='plain', task='cls', method='plain', label='ResNet-18',
         config='configs/resnet/resnet18-cifar_8xb16-200e_cifar10.py',
         paper=dict(top1=92.80, params_M=11.17)),
] + [
    dict(name=f'an-{shape}', task='cls', method='astronet',
         label=f'AN {shape.upper()}', config=config,
         prune=dict(delta=dict(threshold=1e-3, paper=dict(
             top1=top1, params_M=params))))
    for shape, config, top1, params in (
        ('cnn', 'configs/astronet/astronet-cnn_resnet18-cifar_8xb16-200e_cifar10.py', 94.21, 7.9),
        ('fcn', 'configs/astronet/astronet-fcn_resnet18-cifar_8xb16-200e_cifar10.py', 94.31, 7.8),
        ('unet', 'configs/astronet/astronet_resnet18-cifar_8xb16-200e_cifar10.py', 94.35, 7.6))
]
