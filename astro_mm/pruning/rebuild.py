"""What a config of a pruned backbone reads: the widths in a checkpoint's
meta, and the widths its neck must take.

``astro_mm.PrunedBackbone`` (:mod:`astro_mm.models.backbones.pruned_backbone`)
names the unpruned backbone (``base``) and the widths of its prunable slots,
inline or read from a checkpoint of tools/prune.py by :func:`load_widths`
and :func:`load_stage_widths`.

After a coupled prune the stage output widths change too; the modules that
read them (a detector's neck, a classifier's head) are configured from the
same checkpoint by :func:`sync_neck_widths`, which the tools call on every
config they load: a config names the pruned checkpoint once and needs no
hand-written ``in_channels``.
"""
import copy
import functools
import inspect
import os
import os.path as osp
from typing import Dict, List, Optional

from astro_mm.compat import load_checkpoint_file
from astro_mm.registry import MODELS
from .coupled import neck_widths


def _meta(source) -> dict:
    """A checkpoint's meta; read once per file version (a detector's
    build asks for it up to three times: neck, widths, stage widths)."""
    path = str(source)
    stat = os.stat(path)
    return copy.deepcopy(_read_meta(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _read_meta(path: str, mtime_ns: int, size: int) -> dict:
    return load_checkpoint_file(path, map_location='cpu').get('meta', {})


def load_widths(source) -> Dict[str, List[int]]:
    """Widths given inline, or read from a checkpoint of tools/prune.py.

    Raises:
        KeyError: The checkpoint has no ``meta.pruned_widths``.
    """
    if isinstance(source, dict):
        return {k: list(v) for k, v in source.items()}
    meta = _meta(source)
    if 'pruned_widths' not in meta:
        raise KeyError(f'{source} has no meta.pruned_widths: not a checkpoint '
                       'written by tools/prune.py')
    return meta['pruned_widths']


def load_stage_widths(source) -> Optional[Dict[str, int]]:
    """Stage output widths of a coupled prune: inline, or read from the
    ``meta.stage_widths`` of a checkpoint of tools/prune.py (None for a
    checkpoint of an inner-only prune, whose stages keep their widths)."""
    if source is None:
        return None
    if isinstance(source, dict):
        return {k: int(v) for k, v in source.items()}
    meta = _meta(source)
    return dict(meta['stage_widths']) if meta.get('coupled') else None


# Necks whose ``in_channels`` lists the widths of the backbone's outputs
# (mmdet's FPN for Faster R-CNN, CondInst, BoxInst; ChannelMapper: DETR's
# input projection).
NECKS_READING_STAGES = ('FPN', 'PAFPN', 'ChannelMapper')
# Classifier necks that keep the width: the head reads the last stage.
WIDTH_KEEPING_NECKS = ('GlobalAveragePooling', )
PRUNED_BACKBONE_TYPES = ('PrunedBackbone', 'PrunedResNet')


def _out_indices(base: dict, default_scope: Optional[str]) -> List[int]:
    """The stages a backbone config outputs (its default when unset)."""
    if base.get('out_indices') is not None:
        return list(base['out_indices'])
    backbone_cls = base['type']
    if not inspect.isclass(backbone_cls):
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope(default_scope), \
                MODELS.switch_scope_and_registry(None) as registry:
            backbone_cls = registry.get(backbone_cls)
    if backbone_cls is None:
        raise KeyError(f'backbone type {base["type"]!r} is not registered: '
                       'cannot tell its default out_indices; set '
                       'base.out_indices in the config')
    default = inspect.signature(backbone_cls).parameters.get('out_indices')
    if default is None or default.default is inspect.Parameter.empty:
        raise KeyError(f'{base["type"]} has no default out_indices; set '
                       'base.out_indices in the config')
    return list(default.default)


def sync_neck_widths(model_cfg, default_scope: Optional[str] = None
                     ) -> Optional[List[int]]:
    """Give the neck (or a classifier's head) the stage widths of a
    coupled-pruned backbone, in place.

    Acts on a model config whose backbone is ``astro_mm.PrunedBackbone`` /
    ``astro_mm.PrunedResNet`` with stage widths (``stage_widths`` inline,
    or the meta of the checkpoint ``widths`` names); anything else is left
    as it is, as is a config whose checkpoint does not exist yet (building
    the backbone then fails naming it). The widths of the stages in the
    backbone's ``out_indices`` go to ``neck.in_channels`` (FPN, PAFPN,
    ChannelMapper: DETR's input projection), or for a classifier whose neck
    keeps the width (global average pooling) the last one to
    ``head.in_channels``.

    Not a family method: the family says what the stage widths are (its
    ``stage_widths``, written into the checkpoint's meta by the export);
    which of them a neck reads is the config's ``out_indices``, the
    convention of every mmdet / mmpretrain backbone with stages, so one
    function serves every family that prunes its stages.

    Args:
        model_cfg (dict): ``cfg.model``, changed in place.
        default_scope (str, optional): The config's ``default_scope``, to
            find the base backbone's default ``out_indices`` when unset.

    Returns:
        list[int] | None: The widths set, None when nothing was to be set.

    Raises:
        ValueError: The neck's type is none of those (its input widths are
            unknown to astro_mm: set them by hand).
    """
    backbone = model_cfg.get('backbone') if hasattr(model_cfg, 'get') \
        else None
    if not backbone or not str(backbone.get('type', '')).split('.')[-1] \
            in PRUNED_BACKBONE_TYPES:
        return None
    source = backbone.get('stage_widths')
    if source is None and isinstance(backbone.get('widths'), str):
        source = backbone['widths']
    if isinstance(source, str) and not osp.isfile(source):
        return None
    widths = load_stage_widths(source)
    if not widths:
        return None
    stages = neck_widths(widths)  # the stem's width is no neck's input
    in_channels = [stages[i] for i in _out_indices(backbone['base'],
                                                    default_scope)]
    neck = model_cfg.get('neck')
    neck_type = str(neck.get('type', '')).split('.')[-1] if neck else None
    head = model_cfg.get('head')
    if neck_type in NECKS_READING_STAGES:
        neck['in_channels'] = in_channels
    elif neck_type in WIDTH_KEEPING_NECKS + (None, ) and head is not None \
            and 'in_channels' in head:
        head['in_channels'] = in_channels[-1]
    else:
        raise ValueError(
            f'the pruned backbone has stage widths {widths} (from '
            f'{source if isinstance(source, str) else "the config"}), but '
            f'astro_mm does not know where neck type {neck_type!r} takes '
            f'its input widths (known: '
            f'{", ".join(NECKS_READING_STAGES + WIDTH_KEEPING_NECKS)}); set '
            f'model.neck.in_channels = {in_channels} in the config')
    return in_channels
