"""Check and decompress Debian's Fashion-MNIST for mmpretrain's loader.

Example::

    python tools/prepare_fashion_mnist.py            # -> data/fashion_mnist
    python tools/prepare_fashion_mnist.py --src DIR  # the *-ubyte.gz files
"""
import argparse

from astro_mm.datasets.fashion_mnist import (DEBIAN_FASHION_MNIST,
                                             prepare_fashion_mnist)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', default=DEBIAN_FASHION_MNIST)
    parser.add_argument('--out', default='data/fashion_mnist')
    args = parser.parse_args(argv)
    for path in prepare_fashion_mnist(args.out, args.src):
        print(path)


if __name__ == '__main__':
    main()
