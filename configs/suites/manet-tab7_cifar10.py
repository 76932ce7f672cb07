"""MA-Net Tab. 7: DenseNet-BC (L=190, k=40) on CIFAR-10 (data/cifar10),
plain vs MA-Net (pruned at delta = 1e-3). The NAS rows of the table
(NAS-LID, HOTNAS) are other methods' numbers and are not rerun."""
suite = dict(name='manet-tab7_cifar10', input_size=32, seeds=[0, 1, 2, 3, 4],
             title='MA-Net Tab. 7: DenseNet-BC on CIFAR-10')
runs = [
    dict(name='plain_densenet-bc-190-k40', task='cls', method='plain',
         label='DNT-BC', paper=dict(top1=96.54, params_M=25.60),
         config='configs/densenet/densenet-bc-190-k40_8xb16-200e_cifar10.py'),
    dict(name='manet_densenet-bc-190-k40', task='cls', method='manet',
         label='DNT-BC',
         config='configs/manet/manet_densenet-bc-190-k40_8xb16-200e_cifar10.py',
         prune=dict(delta=dict(threshold=1e-3,
                               paper=dict(top1=97.77, params_M=7.52)))),
]
