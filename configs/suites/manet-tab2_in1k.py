"""MA-Net Tab. 2: ImageNet-1k (data/imagenet), RNT18 / RNT50 x plain, CDS,
AstroNet, MA-Net; the astro networks pruned at delta = 1e-3. Their pruned
ResNet-50 checkpoints are the backbones of Tab. 3 / 4
(``manet-tab3_coco.py``, ``manet-tab4_coco.py``)."""
suite = dict(name='manet-tab2_in1k', input_size=224, seeds=[0],
             runs_root='work_dirs/suites/in1k_runs',
             title='MA-Net Tab. 2: ImageNet-1k classification')
backbones = {
    'resnet18': ('RNT18', dict(plain=(69.21, 11.68), cds=(72.85, 11.68),
                               astronet=(72.82, 8.05), manet=(73.27, 7.52))),
    'resnet50': ('RNT50', dict(plain=(75.30, 26.11), cds=(78.25, 26.11),
                               astronet=(78.31, 8.70), manet=(78.96, 8.16))),
}
prefix = dict(plain='resnet/', cds='cds/cds_', astronet='astronet/astronet_',
              manet='manet/manet_')
runs = []
for backbone, (label, rows) in backbones.items():
    for m, (top1, params) in rows.items():
        astro = m in ('astronet', 'manet')
        runs.append(dict(
            name=f'{m}_{backbone}', task='cls', method=m, label=label,
            config=f'configs/{prefix[m]}{backbone}_8xb32-100e_in1k.py',
            paper={} if astro else dict(top1=top1, params_M=params),
            prune=dict(delta=dict(threshold=1e-3, paper=dict(
                top1=top1, params_M=params))) if astro else {}))
