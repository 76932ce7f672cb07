"""MA-Net Tab. 1: CIFAR-10 (data/cifar10), RNT18 / RNT50 / WRN50 x plain,
CDS, AstroNet, MA-Net; 5 seeds (the paper reports means of 5 runs); the
astro networks pruned at delta = 1e-3 (the papers' params are after
pruning)."""
suite = dict(name='manet-tab1_cifar10', input_size=32, seeds=[0, 1, 2, 3, 4],
             title='MA-Net Tab. 1: CIFAR-10 classification')
backbones = {
    'resnet18-cifar': ('RNT18', dict(plain=(94.96, 11.17), cds=(96.49, 11.17),
                                     astronet=(96.52, 7.31), manet=(96.81, 6.94))),
    'resnet50-cifar': ('RNT50', dict(plain=(95.07, 25.60), cds=(96.78, 25.60),
                                     astronet=(96.76, 7.64), manet=(97.10, 7.36))),
    'wide-resnet50-cifar': ('WRN50', dict(plain=(95.01, 68.90), cds=(96.88, 68.90),
                                          astronet=(96.90, 42.55), manet=(97.25, 38.89))),
}
prefix = dict(plain='resnet/', cds='cds/cds_', astronet='astronet/astronet_',
              manet='manet/manet_')
runs = []
for backbone, (label, rows) in backbones.items():
    for m, (top1, params) in rows.items():
        astro = m in ('astronet', 'manet')
        runs.append(dict(
            name=f'{m}_{backbone}', task='cls', method=m, label=label,
            config=f'configs/{prefix[m]}{backbone}_8xb16-200e_cifar10.py',
            paper={} if astro else dict(top1=top1, params_M=params),
            prune=dict(delta=dict(threshold=1e-3, paper=dict(
                top1=top1, params_M=params))) if astro else {}))
