"""The CIFAR-10 look-alike: geometric shapes and textures in CIFAR-10's
on-disk format (``cifar-10-batches-py``), balanced classes.

numpy, Pillow and the standard library only.
"""
import pickle
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .drawing import _background, _random_colour, _smooth_noise, _to_uint8
from .files import (GENERATOR_VERSION, _SPLIT_CODES, _FileWriter,
                    _finish_generation, _image_rng, _manifest_is_current,
                    _read_manifest, _start_regeneration)

CIFAR_FOLDER = 'cifar-10-batches-py'
# Version 3 swapped diamond and star for dots and bullseye: the demo's
# 3-epoch ResNet-18 confused them with square, triangle and cross (chance
# level among those, benchmarks/RESULTS.md), and a random-init network
# learns silhouettes last.
CIFAR_CLASSES = ('circle', 'square', 'triangle', 'cross', 'ring', 'dots',
                 'h_stripes', 'v_stripes', 'checkerboard', 'bullseye')

_CIFAR_SIZE = 32
_SUPERSAMPLE = 4  # shapes are evaluated on a 4x grid, then box-filtered


def _cifar_grid() -> Tuple[np.ndarray, np.ndarray]:
    n = _CIFAR_SIZE * _SUPERSAMPLE
    coords = (np.arange(n) + 0.5) / _SUPERSAMPLE
    return np.meshgrid(coords, coords)  # (x, y), pixel units


_GRID_X, _GRID_Y = _cifar_grid()


def _local_frame(cx: float, cy: float, scale: float,
                 angle: float) -> Tuple[np.ndarray, np.ndarray]:
    """Sub-pixel coordinates in a shape's rotated, scaled frame."""
    dx, dy = _GRID_X - cx, _GRID_Y - cy
    c, s = np.cos(angle), np.sin(angle)
    return (dx * c + dy * s) / scale, (-dx * s + dy * c) / scale


def _compact_frame(rng: np.random.Generator,
                   max_angle_deg: float) -> Tuple[np.ndarray, np.ndarray]:
    """Frame of a compact shape: radius 10-13 px, centre within 3 px of the
    image's (version 3; version 2's 7-13 px anywhere in the image left
    the demo's 3-epoch classifier at chance among the silhouettes)."""
    scale = rng.uniform(10, 13)
    cx, cy = _CIFAR_SIZE / 2 + rng.uniform(-3, 3, size=2)
    angle = np.deg2rad(rng.uniform(-max_angle_deg, max_angle_deg))
    return _local_frame(cx, cy, scale, angle)


def _shape_circle(rng):
    u, v = _compact_frame(rng, 0)
    aspect = rng.uniform(0.85, 1.15)  # slightly elliptic, still a circle
    return (u * aspect)**2 + (v / aspect)**2 <= 1


def _shape_ring(rng):
    u, v = _compact_frame(rng, 0)
    r2 = u**2 + v**2
    inner = rng.uniform(0.45, 0.7)
    return (r2 <= 1) & (r2 >= inner**2)


def _shape_square(rng):
    # Rotation is limited to +-15 deg so squares never look like diamonds.
    u, v = _compact_frame(rng, 15)
    aspect = rng.uniform(0.85, 1.15)
    return (np.abs(u * aspect) <= 0.8) & (np.abs(v / aspect) <= 0.8)


def _shape_triangle(rng):
    u, v = _compact_frame(rng, 180)
    # Equilateral: inside all three edges at inradius 0.5 (circumradius 1).
    inside = np.ones_like(u, dtype=bool)
    for k in range(3):
        t = np.pi / 2 + k * 2 * np.pi / 3
        inside &= u * np.cos(t) + v * np.sin(t) <= 0.5
    return inside


def _shape_cross(rng):
    u, v = _compact_frame(rng, 15)
    half_width = rng.uniform(0.2, 0.35)
    return (((np.abs(u) <= half_width) & (np.abs(v) <= 1)) |
            ((np.abs(v) <= half_width) & (np.abs(u) <= 1)))


def _shape_bullseye(rng):
    u, v = _compact_frame(rng, 0)
    radius = np.hypot(u, v)
    # three light and dark bands of equal width
    return (radius <= 1) & (np.mod(radius * 3, 1.0) < 0.5)


def _pattern_frame(rng):
    """Frame of a textured patch: a large square patch, almost axis-aligned
    so that horizontal and vertical stripes stay distinguishable."""
    scale = rng.uniform(9, 15)
    cx, cy = rng.uniform(scale * 0.7, _CIFAR_SIZE - scale * 0.7, size=2)
    angle = np.deg2rad(rng.uniform(-10, 10))
    u, v = _local_frame(cx, cy, scale, angle)
    period = rng.uniform(4, 7) / scale  # stripe period 4-7 px
    patch = (np.abs(u) <= 1) & (np.abs(v) <= 1)
    return u, v, period, patch


def _shape_h_stripes(rng):
    u, v, period, patch = _pattern_frame(rng)
    return patch & (np.sin(2 * np.pi * v / period + rng.uniform(0, 6.3)) > 0)


def _shape_v_stripes(rng):
    u, v, period, patch = _pattern_frame(rng)
    return patch & (np.sin(2 * np.pi * u / period + rng.uniform(0, 6.3)) > 0)


def _shape_dots(rng):
    u, v, period, patch = _pattern_frame(rng)
    period *= 1.4  # a dot needs more room than a stripe
    du = np.mod(u / period + rng.uniform(0, 1), 1.0) - 0.5
    dv = np.mod(v / period + rng.uniform(0, 1), 1.0) - 0.5
    return patch & (np.hypot(du, dv) <= 0.3)


def _shape_checkerboard(rng):
    u, v, period, patch = _pattern_frame(rng)
    period *= 1.3  # squares a little larger than stripes, for legibility
    su = np.sin(2 * np.pi * u / period + rng.uniform(0, 6.3))
    sv = np.sin(2 * np.pi * v / period + rng.uniform(0, 6.3))
    return patch & (su * sv > 0)


_CIFAR_SHAPES: Dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    'circle': _shape_circle,
    'square': _shape_square,
    'triangle': _shape_triangle,
    'cross': _shape_cross,
    'ring': _shape_ring,
    'dots': _shape_dots,
    'h_stripes': _shape_h_stripes,
    'v_stripes': _shape_v_stripes,
    'checkerboard': _shape_checkerboard,
    'bullseye': _shape_bullseye,
}


def _downsample(mask: np.ndarray) -> np.ndarray:
    """Box-filter a supersampled boolean mask into an anti-aliased alpha."""
    n, s = _CIFAR_SIZE, _SUPERSAMPLE
    return mask.reshape(n, s, n, s).mean(axis=(1, 3))


def _render_cifar_image(shape: str, rng: np.random.Generator) -> np.ndarray:
    """Draw one 32x32 RGB uint8 image of the class named ``shape``."""
    size = _CIFAR_SIZE
    bg = _background(rng, size, size)
    alpha = _downsample(_CIFAR_SHAPES[shape](rng))[..., None]

    colour = _random_colour(rng, bg.mean(axis=(0, 1)), min_distance=90.0)
    shading = _smooth_noise(rng, size, size, cells=3) * rng.uniform(5, 30)
    img = bg * (1 - alpha) + (colour + shading) * alpha

    # Random contrast and sensor noise keep the task from being trivial;
    # they are mild enough that the demo's 3-epoch ResNet-18 learns it
    # (version 1's noise, sigma up to 25 at contrast 0.6, left it near 36 %;
    # version 3 also drops version 2's distractor lines and blobs).
    contrast = rng.uniform(0.8, 1.0)
    img = img.mean() + (img - img.mean()) * contrast
    img = img + rng.normal(0, rng.uniform(2, 10), size=img.shape)
    return _to_uint8(img)


def _balanced_labels(n: int, num_classes: int,
                     rng: np.random.Generator) -> np.ndarray:
    # Balanced classes (counts differ by at most one), in a seeded order.
    return rng.permutation(np.arange(n) % num_classes)


def _render_cifar_split(split: str, n: int, seed: int, classes: Sequence[str]
                        ) -> Tuple[np.ndarray, List[int], List[str]]:
    """Images as CIFAR rows (N x 3072, channel-planar RGB), labels, names."""
    labels = _balanced_labels(
        n, len(classes), np.random.default_rng([seed, 99,
                                                _SPLIT_CODES[split]]))
    data = np.empty((n, 3 * _CIFAR_SIZE * _CIFAR_SIZE), dtype=np.uint8)
    names = []
    for i, label in enumerate(labels):
        img = _render_cifar_image(classes[label], _image_rng(seed, split, i))
        # CIFAR stores the R plane, then G, then B (row-major each).
        data[i] = img.transpose(2, 0, 1).reshape(-1)
        names.append(f'{classes[label]}_{split}_{i:05d}.png')
    return data, [int(x) for x in labels], names


def _per_class(labels: List[int], num_classes: int) -> List[int]:
    return np.bincount(labels, minlength=num_classes).tolist()


def _cifar_batch_bytes(batch_label: str, data: np.ndarray, labels: List[int],
                       names: List[str]) -> bytes:
    batch = {
        'batch_label': batch_label,
        'labels': labels,
        'data': data,
        'filenames': names,
    }
    # Protocol 2 as in the original CIFAR release; str keys work because
    # mmpretrain and torchvision unpickle with encoding='latin1'.
    return pickle.dumps(batch, protocol=2)


def generate_demo_cifar(root,
                        num_train: int = 3000,
                        num_test: int = 600,
                        seed: int = 0,
                        force: bool = False,
                        classes: Optional[Sequence[str]] = None) -> dict:
    """Write a synthetic 10-class set in CIFAR-10's on-disk format.

    The classes are geometric shapes and textures (see ``CIFAR_CLASSES``)
    with random colour, position, scale and, where it keeps the class
    unambiguous, rotation, on textured backgrounds, with random contrast
    and noise. Classes are balanced in both splits.

    The training images are split into ``data_batch_1`` .. ``data_batch_5``
    as evenly as possible (like CIFAR, but with ``num_train / 5`` images
    each), the test images go to ``test_batch``; ``batches.meta`` holds the
    class names. Readable by ``mmpretrain.datasets.CIFAR10``'s loader and by
    :class:`astro_mm.datasets.GeneratedCIFAR10`, which checks the manifest.

    Args:
        root (str | PathLike): Output folder; ``cifar-10-batches-py`` and
            the manifest ``astro_mm_demo.json`` are written into it.
        num_train (int): Number of training images. Defaults to 3000.
        num_test (int): Number of test images. Defaults to 600.
        seed (int): Random seed. Defaults to 0.
        force (bool): Regenerate even if a matching manifest exists.
            Defaults to False.
        classes (Sequence[str], optional): A subset of ``CIFAR_CLASSES``,
            labelled 0, 1, ... in the order given: an easier task, e.g. for
            a test that must show learning in a few iterations. Defaults to
            all ten.

    Returns:
        dict: The manifest (generator, version, params, counts, classes and
        the sha256 of every file relative to ``root``).
    """
    classes = _checked_request(num_train, num_test, classes)
    root = Path(root)
    generator = 'generate_demo_cifar'
    params = dict(num_train=int(num_train), num_test=int(num_test),
                  seed=int(seed))
    if classes != CIFAR_CLASSES:
        params['classes'] = list(classes)
    manifest = _read_manifest(root)
    if not force and _manifest_is_current(manifest, root, generator, params):
        return manifest

    old_manifest = _start_regeneration(root)
    writer = _FileWriter(root)
    train_labels, test_labels = _write_cifar_batches(
        writer, num_train, num_test, seed, classes)

    manifest = {
        'generator': generator,
        'version': GENERATOR_VERSION,
        'seed': int(seed),
        'params': params,
        'classes': list(classes),
        'counts': {
            'train': num_train,
            'test': num_test,
            'train_per_class': _per_class(train_labels, len(classes)),
            'test_per_class': _per_class(test_labels, len(classes)),
        },
        'files': writer.files,
    }
    _finish_generation(root, old_manifest, manifest)
    return manifest


def _checked_request(num_train: int, num_test: int,
                     classes: Optional[Sequence[str]]) -> tuple:
    """The classes of a request (all ten by default), checked.

    Raises:
        ValueError: A count below one, or classes that are not two or more
            distinct names of ``CIFAR_CLASSES``.
    """
    if num_train < 1 or num_test < 1:
        raise ValueError('num_train and num_test must be positive, got '
                         f'{num_train} and {num_test}')
    classes = tuple(CIFAR_CLASSES if classes is None else classes)
    unknown = [c for c in classes if c not in CIFAR_CLASSES]
    if unknown or len(set(classes)) != len(classes) or len(classes) < 2:
        raise ValueError(f'classes must be two or more distinct names of '
                         f'{CIFAR_CLASSES}, got {classes}')
    return classes


def _write_cifar_batches(writer, num_train: int, num_test: int, seed: int,
                         classes: tuple) -> tuple:
    """Render both splits and write CIFAR's batch files; the labels of the
    training and the test images."""
    train, train_labels, train_names = _render_cifar_split(
        'train', num_train, seed, classes)
    bounds = np.linspace(0, num_train, 6).round().astype(int)
    for b in range(5):
        lo, hi = bounds[b], bounds[b + 1]
        writer.write(
            f'{CIFAR_FOLDER}/data_batch_{b + 1}',
            _cifar_batch_bytes(f'training batch {b + 1} of 5', train[lo:hi],
                               train_labels[lo:hi], train_names[lo:hi]))

    test, test_labels, test_names = _render_cifar_split(
        'test', num_test, seed, classes)
    writer.write(
        f'{CIFAR_FOLDER}/test_batch',
        _cifar_batch_bytes('testing batch 1 of 1', test, test_labels,
                           test_names))

    meta = {
        'label_names': list(classes),
        'num_cases_per_batch': int(bounds[1] - bounds[0]),
        'num_vis': 3 * _CIFAR_SIZE * _CIFAR_SIZE,
    }
    writer.write(f'{CIFAR_FOLDER}/batches.meta',
                 pickle.dumps(meta, protocol=2))
    return train_labels, test_labels
