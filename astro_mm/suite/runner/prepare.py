"""The data a suite's ``prepare`` list asks for."""
import os.path as osp
from typing import Callable, Optional

from astro_mm.datasets import generate_demo_cifar, generate_demo_coco
from astro_mm.datasets.fashion_mnist import prepare_fashion_mnist


def prepare_data(steps, data_root: str = 'data',
                 log: Optional[Callable] = print) -> None:
    """Generate / unpack what a suite's ``prepare`` list asks for."""
    if 'demo_data' in steps:
        log(f'demo data under {data_root}/ (generated once, seeded)')
        generate_demo_cifar(osp.join(data_root, 'demo_cifar'))
        generate_demo_coco(osp.join(data_root, 'demo_coco'))
    if 'fashion_mnist' in steps:
        log('Fashion-MNIST from Debian\'s dataset-fashion-mnist')
        prepare_fashion_mnist()
