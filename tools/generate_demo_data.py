"""Generate astro_mm's deterministic synthetic demo data sets.

Usage::

    python tools/generate_demo_data.py [--out data] [--seed 0] [--force]

writes ``<out>/demo_cifar`` (CIFAR-10 format, 10 shape classes) and
``<out>/demo_coco`` (COCO instance segmentation, 4 shape categories). A set
whose manifest already matches the parameters is left untouched unless
``--force`` is given.
"""
import argparse
import os
import sys
import time
from pathlib import Path

# numpy and Pillow only: neither this package nor the package files above it
# import torch or an OpenMMLab package (tests/datasets/test_demo_data.py checks it)
from astro_mm.datasets import demo_data as demo


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data',
                        help='output folder (default: data)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default: 0)')
    parser.add_argument('--force', action='store_true',
                        help='regenerate even if the data is up to date')
    return parser.parse_args(argv)


def _manifest_mtime(root: Path, name: str):
    path = root / name
    return path.stat().st_mtime_ns if path.exists() else None


def _run(label, root, generate, manifest_name):
    """Run one generator; return its manifest, whether it wrote, seconds."""
    before = _manifest_mtime(root, manifest_name)
    start = time.perf_counter()
    manifest = generate()
    seconds = time.perf_counter() - start
    wrote = _manifest_mtime(root, manifest_name) != before
    state = 'generated' if wrote else 'up to date, skipped'
    print(f'{label}: {root} ({state}, {seconds:.1f} s, '
          f"{len(manifest['files'])} files)")
    return manifest


def _print_cifar(manifest):
    counts = manifest['counts']
    print(f"  train {counts['train']} images, test {counts['test']} images, "
          f"{len(manifest['classes'])} classes: "
          f"{', '.join(manifest['classes'])}")
    print(f"  train per class: {counts['train_per_class']}")


def _print_coco(manifest):
    print(f"  categories: {', '.join(manifest['classes'])}; image size "
          f"{manifest['params']['image_size']}")
    for split, counts in manifest['counts'].items():
        buckets = counts['area_buckets']
        per_cat = ', '.join(f"{name} {counts['categories'][name]}"
                            for name in manifest['classes'])
        print(f"  {split}: {counts['images']} images, "
              f"{counts['annotations']} objects; size buckets "
              f"small {buckets['small']}, medium {buckets['medium']}, "
              f"large {buckets['large']}; per category: {per_cat}")


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    start = time.perf_counter()

    cifar_root = out / 'demo_cifar'
    manifest = _run(
        'demo_cifar', cifar_root,
        lambda: demo.generate_demo_cifar(
            cifar_root, seed=args.seed, force=args.force), demo.MANIFEST_NAME)
    _print_cifar(manifest)

    coco_root = out / 'demo_coco'
    manifest = _run(
        'demo_coco', coco_root,
        lambda: demo.generate_demo_coco(
            coco_root, seed=args.seed, force=args.force), demo.MANIFEST_NAME)
    _print_coco(manifest)

    print(f'total {time.perf_counter() - start:.1f} s '
          f'(seed {args.seed}, out {os.fspath(out)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
