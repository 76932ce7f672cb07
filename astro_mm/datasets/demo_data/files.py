"""The demo sets' files: atomic writes, sha256 sums, the manifest that marks
a set complete, PNG encoding and the per-image random streams.

numpy, Pillow and the standard library only.
"""
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Dict, Optional

import numpy as np
from PIL import Image

MANIFEST_NAME = 'astro_mm_demo.json'
# Bump whenever the drawing code changes, so existing manifests stop
# matching and the data is regenerated instead of silently reused.
GENERATOR_VERSION = 3

_SPLIT_CODES = {'train': 0, 'test': 1, 'val': 2}


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

