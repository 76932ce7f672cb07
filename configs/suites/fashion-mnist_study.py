"""The study on real data that runs here (issue 'benchmark suite', 4):
Fashion-MNIST, ResNet-18 (CIFAR variant), plain / CDS / AstroNet / MA-Net,
3 seeds each, one short schedule for all (3,000 training images, 3 epochs,
batch 64; all 10,000 test images), the astro networks pruned to the learned
delta (1e-3) and to a 0.6 parameter budget. The paper values are MA-Net
Tab. 1's CIFAR-10 RNT18 rows, for reference (another dataset and a
200-epoch schedule). The detectors of the study are in ``demo-full.py``."""
suite = dict(
    name='fashion-mnist_study',
    title='Fashion-MNIST (real data), ResNet-18: plain / CDS / AstroNet / '
    'MA-Net, 3 seeds, 3,000 images x 3 epochs (paper: CIFAR-10, 200 epochs)',
    seeds=[0, 1, 2],
    prepare=['fashion_mnist'],
    input_size=28)

schedule = [
    'train_dataloader.dataset.indices=3000', 'train_dataloader.batch_size=64',
    'train_cfg.max_epochs=3', 'train_cfg.val_begin=4',
    'param_scheduler.1.T_max=3'
]
configs = dict(
    plain='configs/resnet/resnet18-cifar_1xb128-5e_fashion-mnist.py',
    cds='configs/cds/cds_resnet18-cifar_1xb128-5e_fashion-mnist.py',
    astronet='configs/astronet/astronet_resnet18-cifar_1xb128-5e_fashion-mnist.py',
    manet='configs/manet/manet_resnet18-cifar_1xb128-5e_fashion-mnist.py')
paper = dict(
    plain=dict(top1=94.96, params_M=11.17),
    cds=dict(top1=96.49, params_M=11.17),
    astronet=dict(top1=96.52, params_M=7.31),
    manet=dict(top1=96.81, params_M=6.94))
# the papers' astro numbers are those of the pruned network: that row
runs = [
    dict(name=m, task='cls', method=m, label='ResNet-18', config=configs[m],
         cfg_options=schedule,
         **(dict(prune=dict(delta=dict(threshold=1e-3, paper=paper[m]),
                            b60=dict(param_budget=0.6)))
            if m in ('astronet', 'manet') else dict(paper=paper[m])))
    for m in ('plain', 'cds', 'astronet', 'manet')
]
