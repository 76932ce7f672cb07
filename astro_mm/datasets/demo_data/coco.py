"""The small COCO: instance segmentation of four shape categories, with
objects in all three of COCO's size buckets, as PNG images and COCO-format
annotations.

numpy, Pillow and the standard library only (no pycocotools).
"""
import json
import math
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .drawing import _background, _random_colour, _smooth_noise, _to_uint8
from .files import (GENERATOR_VERSION, _FileWriter, _finish_generation,
                    _image_rng, _manifest_is_current, _png_bytes,
                    _read_manifest, _start_regeneration)

COCO_CATEGORIES = ('disk', 'box', 'triangle', 'ring')

# COCO evaluation's area ranges (pycocotools COCOeval.Params.areaRng).
COCO_SMALL_MAX = 32**2
COCO_MEDIUM_MAX = 96**2
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
    size = _checked_request(num_train, num_val, image_size)
    root = Path(root)
    generator = 'generate_demo_coco'
    params = dict(num_train=int(num_train), num_val=int(num_val),
                  image_size=list(size), seed=int(seed))
    manifest = _read_manifest(root)
    if not force and _manifest_is_current(manifest, root, generator, params):
        return manifest

    old_manifest = _start_regeneration(root)
    writer = _FileWriter(root)
    counts = {split: _write_coco_split(writer, split, n, size, seed)
              for split, n in (('train', num_train), ('val', num_val))}

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


def _checked_request(num_train: int, num_val: int,
                     image_size: Tuple[int, int]) -> Tuple[int, int]:
    """The image size of a request, checked.

    Raises:
        ValueError: On too few images or too small an image size.
    """
    if num_train < 3 or num_val < 3:
        raise ValueError('num_train and num_val must be >= 3 so that every '
                         'split has small, medium and large objects, got '
                         f'{num_train} and {num_val}')
    size = (int(image_size[0]), int(image_size[1]))
    if min(size) < 128:
        raise ValueError(f'image_size must be at least 128x128 to hold large '
                         f'(> 96^2 px) objects, got {size}')
    return size


def _write_coco_split(writer, split: str, num_images: int,
                      size: Tuple[int, int], seed: int) -> dict:
    """Render one split, write its images and annotation file; its counts.

    Raises:
        RuntimeError: The split lacks a size bucket (a generator bug).
    """
    coco, counts = _coco_split(split, num_images, size, seed, writer)
    missing = [b for b, c in counts['area_buckets'].items() if not c]
    if missing:
        raise RuntimeError(f'{split} split has no {missing} objects; '
                           'AP_S/M/L would be undefined')
    text = json.dumps(coco, separators=(',', ':'))
    writer.write(f'annotations/instances_{split}.json', text.encode('utf-8'))
    return counts
