"""Shared by the COCO suites (MA-Net Tab. 3 / 4, AstroNet supp. Tab. 5):
the ImageNet-1k ResNet-50 pretraining of each method (the runs of
``manet-tab2_in1k.py``, in the same runs folder, so a backbone trained for
one table is reused by the others), pruned at delta = 1e-3 for the astro
methods."""
suite = dict(input_size=224, seeds=[0], runs_root='work_dirs/suites/in1k_runs')
prefix = dict(plain='resnet/', cds='cds/cds_', astronet='astronet/astronet_',
              manet='manet/manet_')
pretrain_runs = [
    dict(name=f'{m}_resnet50', task='cls', method=m, label='RNT50',
         config=f'configs/{prefix[m]}resnet50_8xb32-100e_in1k.py',
         prune=dict(delta=dict(threshold=1e-3))
         if m in ('astronet', 'manet') else {})
    for m in ('plain', 'cds', 'astronet', 'manet')
]
backbone_of = dict(plain='plain_resnet50', cds='cds_resnet50',
                   astronet='astronet_resnet50:delta',
                   manet='manet_resnet50:delta')
suffix = dict(plain='', cds='-cds', astronet='-astronet', manet='-manet')
