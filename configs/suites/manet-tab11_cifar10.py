"""MA-Net Tab. 11: the number of astrocytes, RNT18 on CIFAR-10
(data/cifar10): AstroNet (one UNet astrocyte, T = 6) vs MA-Net with M = 2,
4, 6 sub-astrocytes of 6 LSTM layers (the table's setting). The table's
params are the MNet's (2.88 / 2.52 / 5.04 / 7.56 M); the suite reports the
TNet's, and each run's log states the MNet's size. The table's time column
(GPU days per training run: AstroNet 0.07, MA-Net M = 4 0.17) is
``paper.gpu_days``, printed by ``tools/run_suite.py SUITE --plan`` beside
the planner's projection."""
suite = dict(name='manet-tab11_cifar10', input_size=32, seeds=[0, 1, 2, 3, 4],
             title='MA-Net Tab. 11: number of astrocytes (RNT18, CIFAR-10)')
delta = dict(delta=dict(threshold=1e-3))
runs = [
    dict(name='astronet', task='cls', method='astronet', label='AstroNet (M=1)',
         config='configs/astronet/astronet_resnet18-cifar_8xb16-200e_cifar10.py',
         paper=dict(top1=96.52, gpu_days=0.07), prune=delta),
] + [
    dict(name=f'manet-m{m}', task='cls', method='manet', label=f'MA-Net M={m}',
         config=f'configs/manet/manet-m{m}-k6_resnet18-cifar_8xb16-200e_cifar10.py',
         paper=dict(top1=top1, **days), prune=delta)
    for m, top1, days in ((2, 96.70, {}), (4, 96.81, dict(gpu_days=0.17)),
                          (6, 96.81, {}))
]
