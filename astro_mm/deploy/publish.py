"""Publish a checkpoint: what a deployed network needs, named by its hash.

As mmdet's ``tools/model_converters/publish_model.py``: the published
checkpoint keeps only ``state_dict`` and ``meta`` (the optimizer, the
parameter schedulers, the message hub, an EMA copy and any other top-level
entry go) and its file is named ``{stem}-{sha256[:8]}.pth`` after the first
8 hex digits of its SHA-256, so a download can be checked against its name.

astro_mm's checkpoints carry more training state, which goes too:

* An astro training checkpoint (``astro_mm.AlternatingAlgorithm``) keeps
  only its task network, with the ``architecture.`` prefix removed: the
  state dict is then mmpretrain's / mmdet's own. The modulator
  (``modulator.*``: the MNet / astrocytes and their history buffers), the
  round, the cached P and the weight snapshots behind the P history
  (``round``, ``cached_probs``, ``snapshot``, ``previous_snapshot``) and
  the budget's multiplier (``budget.*``) go. Only a checkpoint whose P are
  all 1 (one saved in the warm-up rounds) is published so: past them, the
  task network runs under P, and its weights alone compute another
  function. Such a checkpoint is pruned first (``tools/prune.py`` folds P
  into the weights) and its output published.
* ``meta`` keeps only what rebuilds and labels the network
  (:data:`DEPLOY_META_KEYS`: the pruned widths, the stage widths and
  whether they were pruned, and the dataset's class names); the run's
  history (``epoch``, ``iter``, ``hook_msgs``, ``early_pruning``, the
  config text, tools/prune.py's local ``source_*`` paths) goes.

Given the config the checkpoint is used with (``OUT.py`` of
tools/prune.py), the pruned widths it names go into ``meta`` where the
checkpoint lacks them (a fine-tuned checkpoint's meta is the runner's), and
the published state dict must load strictly into the network it builds.
"""
import collections
import copy
import hashlib
import io
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import torch

from astro_mm.compat import atomic_write_bytes, load_checkpoint_file
from astro_mm.pruning.rebuild import (PRUNED_BACKBONE_TYPES, load_stage_widths,
                                      load_widths)
from .deployable import (TNET_PREFIX, build_network, check_state_dict,
                         is_algorithm_config, read_config)

# What a published checkpoint holds (mmdet's publish_model.py save_keys).
PUBLISHED_KEYS = ('meta', 'state_dict')
# What of ``meta`` a deployment reads: astro_mm.PrunedBackbone rebuilds the
# pruned shape from the first three (``widths=CKPT``), mmdet's and
# mmpretrain's inference APIs name the classes from ``dataset_meta``.
DEPLOY_META_KEYS = ('pruned_widths', 'stage_widths', 'coupled',
                    'dataset_meta')


@dataclass
class PublishedCheckpoint:
    """What :func:`publish_checkpoint` wrote.

    Attributes:
        path (str): The published file, ``{stem}-{sha256[:8]}.pth``.
        sha256 (str): Its SHA-256 (hex).
        removed_keys (list[str]): Top-level entries removed.
        removed_state (list[str]): State dict entries removed (an astro
            checkpoint's modulator and history).
        removed_meta (list[str]): ``meta`` entries removed.
        num_tensors (int): Tensors in the published state dict.
        meta_from_config (list[str]): ``meta`` entries taken from the
            config (the widths a fine-tuned checkpoint lacks).
    """
    path: str
    sha256: str
    removed_keys: List[str]
    removed_state: List[str]
    removed_meta: List[str]
    num_tensors: int
    meta_from_config: List[str] = field(default_factory=list)


def published_path(out_file: str, sha256: str) -> str:
    """``work_dirs/r20.pth`` -> ``work_dirs/r20-{sha256[:8]}.pth``."""
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    return f'{stem}-{sha256[:8]}.pth'


def _is_bare_state_dict(checkpoint: Mapping) -> bool:
    return bool(checkpoint) and 'state_dict' not in checkpoint and all(
        isinstance(v, torch.Tensor) for v in checkpoint.values())


def _task_network(state: Mapping, source: str
                  ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """An astro training checkpoint's task network (prefix removed) and
    the keys of everything else; any other state dict as it is."""
    if not any(k.startswith(TNET_PREFIX) for k in state):
        return state, []
    probs = state.get('cached_probs')
    if probs is not None and not bool((probs == 1).all()):
        below = int((probs < 1).sum())
        raise ValueError(
            f'{source} is an astro training checkpoint past its warm-up: '
            f'{below} of its {probs.numel()} units run under P < 1 '
            '(cached_probs), which its task network\'s weights alone do not '
            'apply. Prune it first (tools/prune.py CONFIG CKPT --out OUT.pth '
            'folds P into the weights; --threshold 0 removes no unit) and '
            'publish OUT.pth')
    kept = collections.OrderedDict(
        (k[len(TNET_PREFIX):], v) for k, v in state.items()
        if k.startswith(TNET_PREFIX))
    # the modules' state-dict versions (batch norms read theirs on load)
    metadata = getattr(state, '_metadata', None)
    if metadata is not None:
        kept._metadata = collections.OrderedDict(
            (k[len(TNET_PREFIX):], v) for k, v in metadata.items()
            if k.startswith(TNET_PREFIX))
    return kept, [k for k in state if not k.startswith(TNET_PREFIX)]


def _normalized(widths: Mapping) -> Dict[str, List[int]]:
    return {k: [int(w) for w in v] for k, v in widths.items()}


def widths_meta(cfg) -> dict:
    """The pruned shape ``cfg``'s backbone names, as ``meta`` records it
    (empty for a backbone that is not ``astro_mm.PrunedBackbone``)."""
    backbone = cfg.get('model', {}).get('backbone', {})
    if str(backbone.get('type', '')).split('.')[-1] not in PRUNED_BACKBONE_TYPES:
        return {}
    meta = dict(pruned_widths=_normalized(load_widths(backbone['widths'])))
    source = backbone.get('stage_widths')
    if source is None and isinstance(backbone['widths'], str):
        source = backbone['widths']
    stages = load_stage_widths(source)
    meta['coupled'] = bool(stages)
    if stages:
        meta['stage_widths'] = stages
    return meta


def _comparable(key: str, value):
    if key == 'pruned_widths':
        return _normalized(value)
    if key == 'stage_widths':
        return {k: int(v) for k, v in value.items()}
    return bool(value)


def _merge_widths(meta: dict, from_config: dict, source: str,
                  config: str) -> List[str]:
    """Add the config's widths to ``meta``; refuse ones that differ."""
    added = []
    for key, value in from_config.items():
        if meta.get(key) is None:
            meta[key] = value
            added.append(key)
        elif _comparable(key, meta[key]) != _comparable(key, value):
            raise ValueError(
                f'{source} has meta.{key} {meta[key]}, but {config} builds '
                f'{value}: the checkpoint is not of this config')
    return added


def strip_checkpoint(checkpoint: Mapping, source: str = 'the checkpoint'
                     ) -> Tuple[dict, List[str], List[str], List[str]]:
    """What a deployment keeps of ``checkpoint`` (see the module doc).

    Returns:
        tuple: The published checkpoint (``state_dict`` and ``meta``), and
        the removed top-level, state dict and ``meta`` keys.

    Raises:
        ValueError: An astro training checkpoint past its warm-up.
    """
    if _is_bare_state_dict(checkpoint):
        checkpoint = dict(state_dict=checkpoint)
    if 'state_dict' not in checkpoint:
        raise KeyError(f'{source} has no state_dict (keys: '
                       f'{sorted(checkpoint)})')
    removed_keys = [k for k in checkpoint if k not in PUBLISHED_KEYS]
    state, removed_state = _task_network(checkpoint['state_dict'], source)
    meta = checkpoint.get('meta') or {}
    removed_meta = [k for k in meta if k not in DEPLOY_META_KEYS]
    published = dict(
        state_dict=state,
        meta={k: copy.deepcopy(v) for k, v in meta.items()
              if k in DEPLOY_META_KEYS})
    return published, removed_keys, removed_state, removed_meta


def publish_checkpoint(in_file: str, out_file: str,
                       config: Optional[str] = None,
                       cfg_options: Optional[dict] = None
                       ) -> PublishedCheckpoint:
    """Publish ``in_file`` as ``{out_file stem}-{sha256[:8]}.pth``.

    Args:
        in_file (str): A checkpoint: a runner's (plain, pruned and
            fine-tuned, or an astro one in its warm-up), tools/prune.py's,
            or a bare state dict.
        out_file (str): Where to publish; the hash goes before ``.pth``.
        config (str, optional): The config the checkpoint is used with:
            its pruned widths go into ``meta`` where missing, and the
            published state dict must load strictly into its network.
        cfg_options (dict, optional): Overrides of ``config``.

    Returns:
        PublishedCheckpoint: The file written and what was removed.

    Raises:
        ValueError: An astro training checkpoint past its warm-up, or
            ``meta`` widths other than the config's.
        CheckpointMismatchError: The published state dict does not fit
            the config's network.
    """
    published, removed_keys, removed_state, removed_meta = strip_checkpoint(
        load_checkpoint_file(in_file, map_location='cpu'), in_file)
    added = []
    if config is not None:
        cfg = read_config(config, cfg_options)
        if not is_algorithm_config(cfg):  # an astro TNet is not pruned
            added = _merge_widths(published['meta'], widths_meta(cfg),
                                  in_file, config)
        network = build_network(cfg)
        check_state_dict(network, published['state_dict'],
                         source=f'{in_file} (as published)', config=config)
    buffer = io.BytesIO()
    torch.save(published, buffer)
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    path = published_path(out_file, sha256)
    atomic_write_bytes(data, path)
    return PublishedCheckpoint(osp.abspath(path), sha256, removed_keys,
                               removed_state, removed_meta,
                               len(published['state_dict']), added)


def summarize_removed(keys: List[str]) -> str:
    """``modulator.a.w, modulator.b, round`` -> ``modulator.* (2), round``."""
    groups: Dict[str, int] = collections.Counter(
        k.split('.', 1)[0] + ('.*' if '.' in k else '') for k in keys)
    return ', '.join(f'{name} ({count})' if count > 1 else name
                     for name, count in groups.items()) or 'nothing'

