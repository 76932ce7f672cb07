"""Rebuild a pruned backbone from a config: ``astro_mm.PrunedBackbone``.

The config names the unpruned backbone (``base``) and the widths of its
prunable slots (inline or read from a checkpoint of tools/prune.py); the
built module is the base class itself with smaller layers, so it works
wherever the base works (mmpretrain classifiers, mmdet detectors) and its
state_dict keys are the base's.
"""
import copy
from typing import Dict, List, Optional

from torch import nn

from astro_mm.registry import MODELS
from .strategies import shrink_to_widths


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


def load_widths(source) -> Dict[str, List[int]]:
    """Widths given inline, or read from a checkpoint of tools/prune.py.

    Raises:
        KeyError: The checkpoint has no ``meta.pruned_widths``.
    """
    if isinstance(source, dict):
        return {k: list(v) for k, v in source.items()}
    from astro_mm.compat import load_checkpoint_file
    meta = load_checkpoint_file(str(source), map_location='cpu').get('meta', {})
    if 'pruned_widths' not in meta:
        raise KeyError(f'{source} has no meta.pruned_widths: not a checkpoint '
                       'written by tools/prune.py')
    return meta['pruned_widths']


def build_pruned_backbone(base: dict,
                          widths,
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
            meta).
        init_cfg (dict, optional): Passed to the base (e.g. ``Pretrained``
            with the pruned checkpoint).
    """
    base = copy.deepcopy(dict(base))
    if init_cfg is not None:
        base['init_cfg'] = init_cfg
    backbone = shrink_to_widths(MODELS.build(base), load_widths(widths))
    backbone._register_load_state_dict_pre_hook(
        _check_widths_on_load, with_module=True)
    return backbone


MODELS.register_module(name='PrunedBackbone', module=build_pruned_backbone)
MODELS.register_module(name='PrunedResNet', module=build_pruned_backbone)
# the name it had when only ResNets were pruned
build_pruned_resnet = build_pruned_backbone
