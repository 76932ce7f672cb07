"""MA-Net Tab. 11 and Tab. 12 at demo scale (runs here): RNT18 (CIFAR
variant) on the generated demo set, 3 epochs: AstroNet vs MA-Net with
M = 2, 4, 6 sub-astrocytes of 6 LSTM layers (Tab. 11), and the four joint
functions U (Tab. 12), each pruned at delta = 1e-3. Paper values are the
CIFAR-10 ones, for reference."""
suite = dict(name='manet-tab11-12_demo-cifar', input_size=32, seeds=[0],
             prepare=['demo_data'],
             title='MA-Net Tab. 11 / 12 at demo scale: number of astrocytes '
             'and joint function U (RNT18, demo set)')
manet = 'configs/manet/manet_resnet18-cifar_1xb64-3e_demo-cifar.py'
delta = dict(delta=dict(threshold=1e-3))
runs = [
    dict(name='plain', task='cls', method='plain', label='RNT18',
         config='configs/resnet/resnet18-cifar_1xb64-3e_demo-cifar.py',
         paper=dict(top1=94.96, params_M=11.17)),
    dict(name='astronet', task='cls', method='astronet', label='AstroNet (M=1)',
         config='configs/astronet/astronet_resnet18-cifar_1xb64-3e_demo-cifar.py',
         paper=dict(top1=96.52), prune=delta),
] + [
    dict(name=f'manet-m{m}-k6', task='cls', method='manet',
         label=f'MA-Net M={m}, K=6', config=manet, paper=dict(top1=top1),
         cfg_options=[f'model.modulator.num_astrocytes={m}',
                      'model.modulator.num_lstm=6'], prune=delta)
    for m, top1 in ((2, 96.70), (4, 96.81), (6, 96.81))
] + [
    dict(name=name, task='cls', method='manet', label=label, config=manet,
         cfg_options=[f'model.modulator.joint={joint}',
                      f'model.modulator.use_history={history}'],
         prune=dict(delta=dict(threshold=1e-3, paper=dict(
             top1=top1, params_M=params))))
    for name, label, joint, history, top1, params in (
        ('case1', 'U case 1: independent', 'independent', False, 96.54, 7.33),
        ('case2', 'U case 2: independent + history', 'independent', True, 96.57, 7.29),
        ('case3', 'U case 3: chain', 'chain', False, 96.79, 6.97),
        ('ours', 'U ours: chain + history', 'chain', True, 96.81, 6.94))
]
