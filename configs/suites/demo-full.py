"""The demo suite with every method of the papers: plain, CDS, AstroNet and
MA-Net ResNet-18 on the demo classification set, each swapped into the 4
detectors on the demo COCO set (the detector half of the Fashion-MNIST
study, issue 'benchmark suite' section 4: Fashion-MNIST's one-channel
CIFAR-stem networks cannot be swapped into 3-channel detectors)."""
_base_ = './demo.py'

suite = dict(
    # its MA-Net is the papers' (the demo's budget-aware row is not a run
    # here), so the demo's last line does not apply
    summary=None,
    name='demo-full',
    title='Demo suite, all methods: plain / CDS / AstroNet / MA-Net '
    'ResNet-18 in 4 detectors (demo data; paper values are full-scale)')
methods = ['plain', 'cds', 'astronet', 'manet']
runs = [
    dict(name=m, task='cls', method=m, label=_base_.labels[m],
         config=_base_.cls_configs[m],
         **(dict(prune=_base_.astro_prune[m]) if m in _base_.astro_prune
            else dict(paper=_base_.cls_paper[m])))
    for m in methods
] + [
    dict(name=f'{d}_{m}', task='det', method=m, label=spec['label'],
         metric=spec['metric'],
         config=spec['config'].format('' if m == 'plain' else f'-{m}'),
         backbone=m + (':b60' if m in ('astronet', 'manet') else ''),
         cfg_options=_base_.det_options[d], paper=dict(AP=spec['paper'][m]))
    for d, spec in _base_.detectors.items() for m in methods
]
