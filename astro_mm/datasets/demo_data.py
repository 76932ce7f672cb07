"""Deterministic synthetic demo data: a CIFAR-10 look-alike and a small COCO.

Both generators depend on numpy and Pillow only, so the data can be produced
before (or without) the OpenMMLab stack being importable. They are seeded:
the same seed and parameters give byte-identical files on the same machine
and library versions. Across machines, bytes may differ: PNG and pickle
bytes depend on Pillow, zlib and numpy, and numpy's vectorised sin/cos may
differ in the last bit between CPUs. That is why checksums are recorded in
a per-set manifest rather than hard-coded.

Every image is drawn from its own random stream, seeded by
``(seed, split, index)``, so image ``i`` of a split does not change when the
size of another split changes.

On-disk layout::

    <cifar root>/
        cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
        astro_mm_demo.json          # manifest, written last
    <coco root>/
        train/train_000001.png ...
        val/val_000001.png ...
        annotations/instances_{train,val}.json
        astro_mm_demo.json          # manifest, written last

The manifest records the generator, its version, the parameters, counts and
the sha256 of every file written. A call whose manifest already matches its
parameters (and whose files all exist) returns the manifest without writing
anything. Files are written to a temporary name and renamed into place, and a
stale manifest is deleted before regeneration starts, so an interrupted run
never leaves a set that looks complete.
"""
import hashlib
import io
import json
import math
import os
import pickle
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    'generate_demo_cifar', 'generate_demo_coco', 'MANIFEST_NAME',
    'CIFAR_CLASSES', 'COCO_CATEGORIES', 'coco_area_bucket'
]

MANIFEST_NAME = 'astro_mm_demo.json'
# Bump whenever the drawing code changes, so existing manifests stop
# matching and the data is regenerated instead of silently reused.
GENERATOR_VERSION = 3

CIFAR_FOLDER = 'cifar-10-batches-py'
# Version 3 swapped diamond and star for dots and bullseye: the demo's
# 3-epoch ResNet-18 confused them with square, triangle and cross (chance
# level among those, benchmarks/RESULTS.md), and a random-init network
# learns silhouettes last.
CIFAR_CLASSES = ('circle', 'square', 'triangle', 'cross', 'ring', 'dots',
                 'h_stripes', 'v_stripes', 'checkerboard', 'bullseye')
COCO_CATEGORIES = ('disk', 'box', 'triangle', 'ring')

# COCO evaluation's area ranges (pycocotools COCOeval.Params.areaRng).
COCO_SMALL_MAX = 32**2
COCO_MEDIUM_MAX = 96**2

_SPLIT_CODES = {'train': 0, 'test': 1, 'val': 2}

# ---------------------------------------------------------------------------
# Files, hashes and the manifest
# ---------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``.

    The rename is atomic on POSIX, so ``path`` either keeps its old content
    or holds the complete new one, never a truncated file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.tmp{os.getpid()}')
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class _FileWriter:
    """Writes files under a root, remembering their sha256 for the
    manifest."""

    def __init__(self, root: Path):
        self.root = root
        self.files: Dict[str, str] = {}

    def write(self, rel_path: str, data: bytes) -> None:
        _atomic_write(self.root / rel_path, data)
        self.files[rel_path] = _sha256(data)


def _read_manifest(root: Path) -> Optional[dict]:
    path = root / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None  # unreadable manifest: treat as absent and regenerate


def _manifest_is_current(manifest: Optional[dict], root: Path, generator: str,
                         params: dict) -> bool:
    """Whether ``manifest`` describes a complete set made with ``params``.

    Only existence is checked here, hashing is left to the datasets: a call
    that finds its data must stay cheap.
    """
    if manifest is None:
        return False
    if (manifest.get('generator') != generator
            or manifest.get('version') != GENERATOR_VERSION
            or manifest.get('params') != params):
        return False
    files = manifest.get('files') or {}
    return bool(files) and all((root / rel).is_file() for rel in files)


def _start_regeneration(root: Path) -> Optional[dict]:
    """Remove the old manifest before any data file is overwritten.

    Without this, a run interrupted halfway would leave a manifest that
    still claims the old, now partly overwritten, set is complete.

    Returns:
        The previous manifest (or None), to clean up files it listed.
    """
    old = _read_manifest(root)
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    return old


def _finish_generation(root: Path, old_manifest: Optional[dict],
                       manifest: dict) -> None:
    """Delete files of the previous set that the new one lacks, then write
    the manifest (last, so its presence means the set is complete).

    Only files of an earlier run of the same generator are deleted; the two
    generators need separate roots, as they share the manifest name.
    """
    if old_manifest and old_manifest.get('generator') == manifest['generator']:
        for rel in old_manifest.get('files', {}):
            if rel not in manifest['files']:
                (root / rel).unlink(missing_ok=True)
    text = json.dumps(manifest, indent=2, sort_keys=True) + '\n'
    _atomic_write(root / MANIFEST_NAME, text.encode('utf-8'))


def _image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLIT_CODES[split], index])


def _png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='PNG')
    return buf.getvalue()


# ---------------------------------------------------------------------------
# Shared texture helpers
# ---------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int,
                  channels: int = 3) -> np.ndarray:
    """Low-frequency noise in [-1, 1], shape (h, w, channels).

    A coarse random grid is bilinearly upsampled by explicit weighted sums
    (no BLAS), whose summation order, and so the output bytes, does not
    depend on the machine's thread count.
    """

    def weights(n: int) -> Tuple[np.ndarray, np.ndarray]:
        pos = np.linspace(0, cells - 1, n)
        lo = np.minimum(np.floor(pos).astype(int), cells - 2)
        return lo, pos - lo

    grid = rng.uniform(-1, 1, size=(cells, cells, channels))
    lo_y, fy = weights(h)
    lo_x, fx = weights(w)
    rows = (grid[lo_y] * (1 - fy)[:, None, None] +
            grid[lo_y + 1] * fy[:, None, None])  # (h, cells, channels)
    return (rows[:, lo_x] * (1 - fx)[None, :, None] +
            rows[:, lo_x + 1] * fx[None, :, None])


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured float background: colour, gradient and blotches."""
    base = rng.uniform(30, 225, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = ((xx - w / 2) * np.cos(angle) +
            (yy - h / 2) * np.sin(angle)) / max(h, w)
    gradient = ramp[..., None] * rng.uniform(-50, 50, size=3)
    blotches = _smooth_noise(rng, h, w, cells=int(rng.integers(3, 7)))
    img = base + gradient + blotches * rng.uniform(5, 25)
    return img


def _random_colour(rng: np.random.Generator,
                   avoid: np.ndarray,
                   min_distance: float = 90.0) -> np.ndarray:
    """A colour at least ``min_distance`` (RGB) from ``avoid`` if possible.

    Without a minimum distance some objects would be invisible against the
    background, which makes labels noise rather than a hard example.
    """
    colour = rng.uniform(0, 255, size=3)
    for _ in range(30):
        if np.sqrt(np.sum((colour - avoid)**2)) >= min_distance:
            break
        colour = rng.uniform(0, 255, size=3)
    return colour


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# CIFAR-like classification set
# ---------------------------------------------------------------------------

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
    if num_train < 1 or num_test < 1:
        raise ValueError('num_train and num_test must be positive, got '
                         f'{num_train} and {num_test}')
    classes = tuple(CIFAR_CLASSES if classes is None else classes)
    unknown = [c for c in classes if c not in CIFAR_CLASSES]
    if unknown or len(set(classes)) != len(classes) or len(classes) < 2:
        raise ValueError(f'classes must be two or more distinct names of '
                         f'{CIFAR_CLASSES}, got {classes}')
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


# ---------------------------------------------------------------------------
# COCO-format instance segmentation set
# ---------------------------------------------------------------------------

# Target polygon areas per COCO size bucket, kept clear of the bucket limits
# (1024 and 9216 px) so rasterisation never moves an object across them.
_AREA_RANGES = {
    'small': (150.0, 800.0),
    'medium': (1400.0, 7500.0),
    'large': (10500.0, 16000.0),
}
_BUCKETS = ('small', 'medium', 'large')
_MAX_OCCLUDED_FRACTION = 0.3


def coco_area_bucket(area: float) -> str:
    """COCO evaluation's size bucket ('small', 'medium' or 'large')."""
    if area < COCO_SMALL_MAX:
        return 'small'
    if area < COCO_MEDIUM_MAX:
        return 'medium'
    return 'large'


def _polygon_area(points: np.ndarray) -> float:
    """Shoelace area; a keyhole ring's inner loop runs the other way round,
    so its area is subtracted."""
    x, y = points[:, 0], points[:, 1]
    # fsum is exactly rounded, so the area does not depend on the BLAS
    # kernel's summation order (np.dot's does).
    cross = x * np.roll(y, -1) - y * np.roll(x, -1)
    return abs(math.fsum(cross.tolist())) / 2


def _ellipse_points(a: float, b: float, n: int) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([a * np.cos(t), b * np.sin(t)], axis=1)


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    # Element-wise rather than a matmul, whose BLAS kernel may use FMA.
    c, s = np.cos(angle), np.sin(angle)
    x, y = points[:, 0], points[:, 1]
    return np.stack([x * c - y * s, x * s + y * c], axis=1)


def _n_vertices(radius: float) -> int:
    # About one vertex per 3 px of circumference: smooth but compact json.
    return int(np.clip(2 * np.pi * radius / 3, 16, 64))


class _Shape:
    """A shape centred on the origin.

    Attributes:
        outline (np.ndarray): The annotation polygon (K x 2).
        fill (list[np.ndarray]): Polygons drawn filled, in order.
        holes (list[np.ndarray]): Polygons cleared after filling (rings).
    """

    def __init__(self, outline, fill, holes=()):
        self.outline = outline
        self.fill = fill
        self.holes = list(holes)

    def moved(self, dx: float, dy: float) -> '_Shape':
        d = np.array([dx, dy])
        return _Shape(self.outline + d, [p + d for p in self.fill],
                      [p + d for p in self.holes])


def _make_disk(rng, area):
    k = rng.uniform(0.8, 1.25)
    r = np.sqrt(area / np.pi)
    pts = _rotate(_ellipse_points(r * np.sqrt(k), r / np.sqrt(k),
                                  _n_vertices(r)), rng.uniform(0, np.pi))
    return _Shape(pts, [pts])


def _make_box(rng, area):
    k = rng.uniform(0.5, 2.0)
    w, h = np.sqrt(area * k), np.sqrt(area / k)
    pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    if rng.random() < 0.5:
        pts = _rotate(pts, np.deg2rad(rng.uniform(-30, 30)))
    return _Shape(pts, [pts])


def _make_triangle(rng, area):
    t = np.pi / 2 + np.arange(3) * 2 * np.pi / 3 + rng.uniform(0, 2 * np.pi)
    pts = np.stack([np.cos(t), np.sin(t)], axis=1)
    pts = pts + rng.uniform(-0.25, 0.25, size=pts.shape)  # not equilateral
    pts = pts * np.sqrt(area / _polygon_area(pts))
    return _Shape(pts, [pts])


def _make_ring(rng, area):
    """An annulus as one 'keyhole' polygon: outer loop, a zero-width cut to
    the inner loop, the inner loop reversed, and back.

    COCO polygons cannot have holes, but the cut has no area, so
    pycocotools rasterises this polygon as the annulus and the shoelace
    area is outer minus inner. (Transforms that re-polygonise with shapely,
    e.g. mmdet's ``PolygonMasks.crop``, keep only the outer contour; then
    the hole counts as object, the 'outer contour approximation'.)
    """
    q = rng.uniform(0.45, 0.65)
    r_out = np.sqrt(area / (np.pi * (1 - q**2)))
    n = _n_vertices(r_out)
    outer = _ellipse_points(r_out, r_out, n)
    inner = _ellipse_points(r_out * q, r_out * q, n)
    keyhole = np.concatenate(
        [outer, outer[:1], inner[:1], inner[:0:-1], inner[:1]], axis=0)
    return _Shape(keyhole, [outer], [inner])


_COCO_MAKERS = {
    'disk': _make_disk,
    'box': _make_box,
    'triangle': _make_triangle,
    'ring': _make_ring,
}


_COCO_SUPERSAMPLE = 4


def _coverage(polygons: Sequence[np.ndarray],
              holes: Sequence[np.ndarray],
              size: Tuple[int, int],
              supersample: int = _COCO_SUPERSAMPLE) -> np.ndarray:
    """Fraction (H x W, float32) of each pixel covered by the polygons minus
    the holes, from a 4x supersampled Pillow rasterisation.

    Pillow fills every pixel a polygon edge touches, which dilates a shape
    by about half a pixel; supersampling and thresholding the coverage at
    0.5 matches pycocotools' rasterisation of the annotation polygon far
    better (mean IoU 0.97 instead of 0.92 on small objects).
    """
    w, h = size
    s = supersample
    img = Image.new('L', (w * s, h * s), 0)
    draw = ImageDraw.Draw(img)
    for p in polygons:
        draw.polygon([tuple(xy) for xy in p * s], fill=1)
    for p in holes:
        draw.polygon([tuple(xy) for xy in p * s], fill=0)
    covered = np.asarray(img, dtype=np.float32)
    return covered.reshape(h, s, w, s).mean(axis=(1, 3))


def _sample_shape(rng, category: str, bucket: str,
                  size: Tuple[int, int]) -> _Shape:
    """A shape of ``category`` whose polygon area lies in ``bucket`` and
    which fits inside the image with a 2 px margin."""
    w, h = size
    lo, hi = _AREA_RANGES[bucket]
    shape = None
    for _ in range(50):
        shape = _COCO_MAKERS[category](rng, rng.uniform(lo, hi))
        extent = shape.outline.max(0) - shape.outline.min(0)
        if extent[0] <= w - 4 and extent[1] <= h - 4:
            return shape
    raise RuntimeError(f'cannot fit a {bucket} {category} into a {w}x{h} '
                       'image; use a larger image_size')


def _place(rng, shape: _Shape, size: Tuple[int, int]) -> _Shape:
    """Move ``shape`` to a random position with its bbox inside the image."""
    w, h = size
    lo, hi = shape.outline.min(0), shape.outline.max(0)
    dx = rng.uniform(2 - lo[0], w - 2 - hi[0])
    dy = rng.uniform(2 - lo[1], h - 2 - hi[1])
    return shape.moved(dx, dy)


def _plan_objects(rng, index: int) -> List[Tuple[str, str]]:
    """(category, bucket) pairs for one image.

    The first object's bucket cycles with the image index, so every split
    of three or more images has small, medium and large objects; at most one
    large object per image keeps occlusion bounded.
    """
    n = int(rng.integers(1, 6))
    buckets = [_BUCKETS[index % 3]]
    for _ in range(n - 1):
        has_large = 'large' in buckets
        choice = rng.choice(_BUCKETS, p=[0.45, 0.45, 0.1])
        buckets.append('medium' if choice == 'large' and has_large else choice)
    return [(str(rng.choice(COCO_CATEGORIES)), str(b)) for b in buckets]


def _layout_objects(rng, plan, size):
    """Place planned objects, largest first so small ones are drawn on top.

    A placement is rejected when it would leave an earlier object more than
    30 % hidden; the object is dropped after 40 rejections, except the first
    planned one (the bucket guarantee), which gets more tries.

    Returns:
        list[tuple[str, _Shape, np.ndarray]]: category, placed shape and
        its full (amodal) pixel coverage, in drawing order.
    """
    sampled = [(cat, _sample_shape(rng, cat, bucket, size), i == 0)
               for i, (cat, bucket) in enumerate(plan)]
    sampled.sort(key=lambda item: -_polygon_area(item[1].outline))
    placed = []  # (category, shape, coverage)
    full_masks = []  # coarse full mask of each placed object
    visible = []  # visible part of each placed object
    for cat, shape, required in sampled:
        for _ in range(400 if required else 40):
            candidate = _place(rng, shape, size)
            # A coarse (1x) mask is precise enough to bound occlusion and
            # 16x cheaper than the coverage used for painting.
            mask = _coverage(candidate.fill, candidate.holes, size, 1) > 0
            new_visible = [v & ~mask for v in visible]
            if all(nv.sum() >= (1 - _MAX_OCCLUDED_FRACTION) * full.sum()
                   for nv, full in zip(new_visible, full_masks)):
                placed.append((cat, candidate,
                               _coverage(candidate.fill, candidate.holes,
                                         size)))
                full_masks.append(mask)
                visible = new_visible + [mask]
                break
    return placed


def _paint_object(rng, img: np.ndarray, coverage: np.ndarray,
                  avoid: np.ndarray) -> None:
    """Paint an object in place, anti-aliased by its pixel ``coverage``:
    base colour, smooth shading and noise."""
    h, w = coverage.shape
    colour = _random_colour(rng, avoid, min_distance=80.0)
    shading = _smooth_noise(rng, h, w, cells=4) * rng.uniform(10, 35)
    touched = coverage > 0
    alpha = coverage[touched][:, None]
    noise = rng.normal(0, 6, size=(int(touched.sum()), 3))
    texture = colour + shading[touched] + noise
    img[touched] = img[touched] * (1 - alpha) + texture * alpha


def _draw_lines(rng, img: np.ndarray, count: int) -> None:
    """Random thin distractor lines, drawn in place (under the objects)."""
    h, w = img.shape[:2]
    canvas = Image.new('L', (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(count):
        xy = [tuple(rng.uniform(0, [w, h])) for _ in range(2)]
        draw.line(xy, fill=1, width=int(rng.integers(1, 3)))
        mask = np.asarray(canvas, dtype=bool)
        img[mask] = rng.uniform(0, 255, size=3)
        draw.rectangle([0, 0, w, h], fill=0)


def _render_coco_image(rng, size, index):
    """Draw image ``index`` of a split and its objects.

    Returns:
        tuple[np.ndarray, list[tuple[str, np.ndarray]]]: the uint8 image and
        (category, annotation polygon) per object, in drawing order.
    """
    w, h = size
    img = _background(rng, h, w)
    img += rng.normal(0, rng.uniform(3, 10), size=img.shape)
    _draw_lines(rng, img, int(rng.integers(2, 7)))
    objects = _layout_objects(rng, _plan_objects(rng, index), size)
    avoid = img.mean(axis=(0, 1))
    for _, _, coverage in objects:
        _paint_object(rng, img, coverage, avoid)
    img += rng.normal(0, 3, size=img.shape)
    return _to_uint8(img), [(cat, shape.outline) for cat, shape, _ in objects]


def _annotation(ann_id: int, image_id: int, category_id: int,
                outline: np.ndarray) -> dict:
    # Round once, then derive bbox and area from the rounded coordinates so
    # that all three agree exactly.
    pts = np.round(outline, 2)
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    return {
        'id': ann_id,
        'image_id': image_id,
        'category_id': category_id,
        'segmentation': [[float(v) for v in pts.reshape(-1)]],
        'area': round(_polygon_area(pts), 2),
        'bbox': [float(x0), float(y0), round(float(x1 - x0), 2),
                 round(float(y1 - y0), 2)],
        'iscrowd': 0,
    }


def _coco_split(split: str, n: int, size: Tuple[int, int], seed: int,
                writer: _FileWriter) -> Tuple[dict, dict]:
    """Write the images of one split; return its COCO dict and counts."""
    w, h = size
    images, annotations = [], []
    for i in range(n):
        rng = _image_rng(seed, split, i)
        img, objects = _render_coco_image(rng, size, i)
        image_id = i + 1
        file_name = f'{split}_{image_id:06d}.png'
        writer.write(f'{split}/{file_name}', _png_bytes(img))
        images.append({'id': image_id, 'file_name': file_name,
                       'width': w, 'height': h})
        for cat, outline in objects:
            annotations.append(
                _annotation(len(annotations) + 1, image_id,
                            COCO_CATEGORIES.index(cat) + 1, outline))
    coco = {
        'info': {
            'description': f'astro_mm synthetic COCO demo ({split})',
            'version': str(GENERATOR_VERSION),
            'year': 2024,
            'contributor': 'astro_mm.datasets.demo_data',
            # Fixed: a timestamp would break byte-identical regeneration.
            'date_created': '2024-01-01',
        },
        'licenses': [],
        'images': images,
        'annotations': annotations,
        'categories': [{'id': k + 1, 'name': name, 'supercategory': 'shape'}
                       for k, name in enumerate(COCO_CATEGORIES)],
    }
    return coco, _coco_counts(coco)


def _coco_counts(coco: dict) -> dict:
    buckets = {b: 0 for b in _BUCKETS}
    per_cat = {name: 0 for name in COCO_CATEGORIES}
    for ann in coco['annotations']:
        buckets[coco_area_bucket(ann['area'])] += 1
        per_cat[COCO_CATEGORIES[ann['category_id'] - 1]] += 1
    return {
        'images': len(coco['images']),
        'annotations': len(coco['annotations']),
        'area_buckets': buckets,
        'categories': per_cat,
    }


def generate_demo_coco(root,
                       num_train: int = 240,
                       num_val: int = 60,
                       image_size: Tuple[int, int] = (192, 192),
                       seed: int = 0,
                       force: bool = False) -> dict:
    """Write a synthetic COCO-format instance segmentation set.

    Four categories (``COCO_CATEGORIES``: disk, box, triangle, ring) with
    1-5 objects per image of varied colour and texture on backgrounds with
    gradients, blotches, noise and random lines. Object areas are drawn
    from COCO's small (< 32^2), medium and large (> 96^2 px) ranges; every
    split is checked to contain all three, so AP_S/M/L are defined.

    Annotation conventions:

    * ``segmentation`` is one polygon per object (a flat list of floats).
      Rings are a single 'keyhole' polygon (outer loop, zero-width cut,
      inner loop), which pycocotools rasterises as the annulus.
    * Objects may partially overlap. Larger objects are drawn first, so
      small ones are never hidden, and no object is more than 30 %
      occluded. An occluded object keeps its full (amodal) polygon, bbox
      and area, i.e. the mask includes the part hidden by the occluder.
    * ``bbox`` is the polygon's extent ``[x, y, w, h]`` and lies inside the
      image (2 px margin); ``area`` is the polygon's shoelace area.
    * Images are PNG (lossless) and objects are painted from the same
      polygons, anti-aliased; pixels with more than half coverage are
      object pixels, which matches pycocotools' rasterisation of the
      polygon to within about a pixel along the edges.

    Args:
        root (str | PathLike): Output folder for ``train/``, ``val/``,
            ``annotations/`` and the manifest ``astro_mm_demo.json``.
        num_train (int): Number of training images (>= 3). Defaults to 240.
        num_val (int): Number of validation images (>= 3). Defaults to 60.
        image_size (tuple[int, int]): ``(width, height)``, each >= 128 so
            that large objects fit. Defaults to (192, 192).
        seed (int): Random seed. Defaults to 0.
        force (bool): Regenerate even if a matching manifest exists.
            Defaults to False.

    Returns:
        dict: The manifest (generator, version, params, counts with
        per-split size buckets, and the sha256 of every file).

    Raises:
        ValueError: On too few images or too small an image size.
        RuntimeError: If a split lacks a size bucket (a generator bug).
    """
    if num_train < 3 or num_val < 3:
        raise ValueError('num_train and num_val must be >= 3 so that every '
                         'split has small, medium and large objects, got '
                         f'{num_train} and {num_val}')
    size = (int(image_size[0]), int(image_size[1]))
    if min(size) < 128:
        raise ValueError(f'image_size must be at least 128x128 to hold large '
                         f'(> 96^2 px) objects, got {size}')
    root = Path(root)
    generator = 'generate_demo_coco'
    params = dict(num_train=int(num_train), num_val=int(num_val),
                  image_size=list(size), seed=int(seed))
    manifest = _read_manifest(root)
    if not force and _manifest_is_current(manifest, root, generator, params):
        return manifest

    old_manifest = _start_regeneration(root)
    writer = _FileWriter(root)
    counts = {}
    for split, n in (('train', num_train), ('val', num_val)):
        coco, counts[split] = _coco_split(split, n, size, seed, writer)
        buckets = counts[split]['area_buckets']
        missing = [b for b, c in buckets.items() if not c]
        if missing:
            raise RuntimeError(f'{split} split has no {missing} objects; '
                               'AP_S/M/L would be undefined')
        text = json.dumps(coco, separators=(',', ':'))
        writer.write(f'annotations/instances_{split}.json',
                     text.encode('utf-8'))

    manifest = {
        'generator': generator,
        'version': GENERATOR_VERSION,
        'seed': int(seed),
        'params': params,
        'classes': list(COCO_CATEGORIES),
        'counts': counts,
        'files': writer.files,
    }
    _finish_generation(root, old_manifest, manifest)
    return manifest
