"""Drawing shared by the demo generators: textured backgrounds, colours
that stand out from them, and the conversion to 8-bit pixels.

numpy only.
"""
from typing import Tuple

import numpy as np


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

