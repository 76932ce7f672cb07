"""MA-Net Tab. 10: MA-Net with DenseNet-BC TNets of three sizes (dense block
outputs 64-128-128-256, 64-128-256-512, 64-256-256-512) on CIFAR-10
(data/cifar10), pruned at delta = 1e-3. See configs/densenet/ for how the
sizes are read from the table."""
suite = dict(name='manet-tab10_cifar10', input_size=32, seeds=[0, 1, 2, 3, 4],
             title='MA-Net Tab. 10: DenseNet-BC sizes on CIFAR-10')
sizes = dict(tiny=(97.55, 7.25), orgn=(97.77, 7.52), large=(97.86, 7.94))
runs = [
    dict(name=f'manet_densenet-bc-{size}', task='cls', method='manet',
         label=f'{size.capitalize()}-DNT-BC',
         config=f'configs/manet/manet_densenet-bc-{size}_8xb16-200e_cifar10.py',
         prune=dict(delta=dict(threshold=1e-3, paper=dict(
             top1=top1, params_M=params))))
    for size, (top1, params) in sizes.items()
]
