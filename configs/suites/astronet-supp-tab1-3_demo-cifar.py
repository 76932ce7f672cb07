"""AstroNet supp. Tab. 1-3 at demo scale (runs here): ResNet-18 (CIFAR
variant) on the generated demo set, 3 epochs: the AN's shape (CNN / FCN /
UNet), lambda of the temporal term (0, 1e-4, 1e-3, 1e-2, 1e-1; its e^t
curves are supp. Fig. 4) and G (avg / max / mix), each pruned at
delta = 1e-3. Paper values are the CIFAR-10 ones, for reference."""
suite = dict(name='astronet-supp-tab1-3_demo-cifar', input_size=32,
             seeds=[0], prepare=['demo_data'],
             title='AstroNet supp. Tab. 1-3 at demo scale: AN shape, lambda, '
             'G (ResNet-18, demo set)')
astronet = 'configs/astronet/astronet_resnet18-cifar_1xb64-3e_demo-cifar.py'
delta = dict(delta=dict(threshold=1e-3))
variants = [
    ('an-cnn', 'AN CNN', ['model.modulator.shape=cnn'], 94.21),
    ('an-fcn', 'AN FCN', ['model.modulator.shape=fcn'], 94.31),
    ('lambda0', 'lambda=0', ['model.modulator.temporal_weight=0.0'], 94.25),
    ('lambda1e-4', 'lambda=1e-4', ['model.modulator.temporal_weight=1e-4'], 94.33),
    ('lambda1e-3', 'UNet, lambda=1e-3, G mix (default)', [], 94.35),
    ('lambda1e-2', 'lambda=1e-2', ['model.modulator.temporal_weight=1e-2'], 94.32),
    ('lambda1e-1', 'lambda=1e-1', ['model.modulator.temporal_weight=1e-1'], 94.27),
    ('g-avg', 'G avg', ['model.descriptor=avg'], 94.32),
    ('g-max', 'G max', ['model.descriptor=max'], 94.31),
]
runs = [
    dict(name='plain', task='cls', method='plain', label='ResNet-18',
         config='configs/resnet/resnet18-cifar_1xb64-3e_demo-cifar.py',
         paper=dict(top1=92.80, params_M=11.17)),
] + [
    dict(name=name, task='cls', method='astronet', label=label,
         config=astronet, cfg_options=options, paper=dict(top1=top1),
         prune=delta)
    for name, label, options, top1 in variants
]
