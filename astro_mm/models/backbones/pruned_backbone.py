"""Rebuild a pruned backbone from a config: ``astro_mm.PrunedBackbone``.

The config names the unpruned backbone (``base``) and the widths of its
prunable slots (inline or read from a checkpoint of tools/prune.py); the
built module is the base class itself with smaller layers, so it works
wherever the base works (mmpretrain classifiers, mmdet detectors) and its
state_dict keys are the base's. The backbone's family (resolved once, on
the freshly built base) shrinks it.
"""
import copy
from typing import Optional

from torch import nn

from astro_mm.families import resolve_family
from astro_mm.pruning.rebuild import (PRUNED_BACKBONE_TYPES, load_stage_widths,
                                      load_widths)
from astro_mm.registry import MODELS


def _check_widths_on_load(module, state_dict, prefix, *args) -> None:
    """Refuse a checkpoint whose tensor shapes differ from the module's."""
    own = module.state_dict()
    for key, value in own.items():
        incoming = state_dict.get(prefix + key)
        if incoming is not None and hasattr(incoming, 'shape') and \
                tuple(incoming.shape) != tuple(value.shape):
            layer = key.rsplit('.', 1)[0]
            raise ValueError(
                f'checkpoint does not match the pruned widths of the config: '
                f'layer {layer} ({prefix + key}) has shape '
                f'{tuple(incoming.shape)} in the checkpoint but '
                f'{tuple(value.shape)} in the model built from the config '
                '(widths); use the config written by tools/prune.py')


def build_pruned_backbone(base: dict,
                          widths,
                          stage_widths=None,
                          init_cfg: Optional[dict] = None) -> nn.Module:
    """A backbone with the widths of a pruned one.

    Registered as ``astro_mm.PrunedBackbone`` and, under its first name,
    ``astro_mm.PrunedResNet``. A checkpoint whose shapes do not match
    ``widths`` raises a ValueError naming the first mismatched layer.

    Args:
        base (dict): The unpruned backbone, e.g.
            ``dict(type='mmdet.ResNet', depth=18, ...)``,
            ``dict(type='mmpretrain.VisionTransformer', arch='b', ...)``.
        widths (dict | str): Widths per block (``PruneResult.widths``), or
            the path of a checkpoint written by tools/prune.py (read from its
            meta, with its stage widths).
        stage_widths (dict | str, optional): Output widths of the stages of
            a coupled prune (``{'layer1': 40, ...}``), inline or read from a
            checkpoint's meta; by default the meta of ``widths`` when that
            is a checkpoint. The stages are shrunk with Torch-Pruning's
            dependency graph (the family's ``shrink_stages``).
        init_cfg (dict, optional): Passed to the base (e.g. ``Pretrained``
            with the pruned checkpoint).
    """
    base = copy.deepcopy(dict(base))
    if init_cfg is not None:
        base['init_cfg'] = init_cfg
    if stage_widths is None and not isinstance(widths, dict):
        stage_widths = widths
    backbone = resolve_family(MODELS.build(base), strict=True).shrink_to_widths(
        load_widths(widths), load_stage_widths(stage_widths))
    backbone._register_load_state_dict_pre_hook(
        _check_widths_on_load, with_module=True)
    return backbone


# PrunedResNet: the name it had when only ResNets were pruned (configs and
# checkpoints written then still name it)
for _name in PRUNED_BACKBONE_TYPES:
    MODELS.register_module(name=_name, module=build_pruned_backbone)
