"""AstroNet supp. Tab. 2: lambda of the temporal term, ResNet-18 and
ResNet-34 on CIFAR-10 (data/cifar10), pruned at delta = 1e-3. The e^t
curves of these runs are AstroNet supp. Fig. 4 (figures/et_curves.png)."""
suite = dict(name='astronet-supp-tab2_cifar10', input_size=32,
             seeds=[0, 1, 2, 3, 4],
             title='AstroNet supp. Tab. 2: lambda (ResNet-18/34, CIFAR-10)')
paper = {
    'resnet18': [(None, 92.80, 11.17), ('0', 94.25, 7.8), ('1e-4', 94.33, 7.7),
                 ('1e-3', 94.35, 7.6), ('1e-2', 94.32, 7.6), ('1e-1', 94.27, 7.4)],
    'resnet34': [(None, 93.56, 21.28), ('0', 94.42, 9.9), ('1e-4', 94.49, 9.7),
                 ('1e-3', 94.51, 9.7), ('1e-2', 94.32, 9.5), ('1e-1', 94.27, 9.4)],
}
runs = []
for depth, rows in paper.items():
    label = depth.replace('resnet', 'ResNet-')
    for lam, top1, params in rows:
        if lam is None:
            runs.append(dict(
                name=f'plain_{depth}', task='cls', method='plain', label=label,
                config=f'configs/resnet/{depth}-cifar_8xb16-200e_cifar10.py',
                paper=dict(top1=top1, params_M=params)))
            continue
        config = (f'configs/astronet/astronet_{depth}-cifar_8xb16-200e_cifar10.py'
                  if lam == '1e-3' else
                  f'configs/astronet/astronet-lambda{lam}_{depth}-cifar_8xb16-200e_cifar10.py')
        runs.append(dict(
            name=f'lambda{lam}_{depth}', task='cls', method='astronet',
            label=f'{label} lambda={lam}', config=config,
            prune=dict(delta=dict(threshold=1e-3, paper=dict(
                top1=top1, params_M=params)))))
