"""The network a deployment runs, built from a config and its checkpoint.

A deployed network is a plain one: an mmpretrain classifier, or the
backbone of a classifier or a detector, at the widths of its config (a
pruned config names ``astro_mm.PrunedBackbone`` with the widths
``tools/prune.py`` recorded). :func:`build_deployable` builds it and loads
the checkpoint strictly: every tensor the network has must be in the
checkpoint, under its key and with its shape, and a classifier's checkpoint
must hold nothing else. A mismatch raises :class:`CheckpointMismatchError`
naming the key, the layer, both shapes and the likely cause (the unpruned
checkpoint with the pruned config, or the reverse), before any tensor is
copied.

An astro training run (``astro_mm.AlternatingAlgorithm``) is not a deployed
network: its task network runs under the modulator's P. It is pruned first
(``tools/prune.py``), which folds P into the weights and writes the plain
checkpoint and its config.
"""
import copy
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from astro_mm.compat import load_checkpoint_file
from astro_mm.pruning.rebuild import sync_neck_widths
from astro_mm.registry import MODELS

# Where AlternatingAlgorithm keeps its task network in a checkpoint, and
# the key prefix of its modulator (astro_mm.models.algorithms.alternating).
TNET_PREFIX = 'architecture.'
MODULATOR_PREFIX = 'modulator.'
BACKBONE_PREFIX = 'backbone.'
PARTS = ('model', 'backbone')
# mismatches listed in an error before "and N more"
_LISTED = 5


class CheckpointMismatchError(ValueError):
    """A checkpoint's tensors do not fit the network its config builds."""


@dataclass
class Deployable:
    """What :func:`build_deployable` returns.

    Attributes:
        module (nn.Module): The network in eval mode, the checkpoint loaded:
            the classifier (``part='model'``) or the backbone.
        part (str): ``'model'`` (a classifier: images in, class scores out)
            or ``'backbone'`` (images in, its feature maps out).
        in_channels (int): Image channels the network takes.
        cfg (Config): The config it was built from.
    """
    module: nn.Module
    part: str
    in_channels: int
    cfg: Config


def is_algorithm_config(cfg: Config) -> bool:
    """Whether the config trains an astro network (Algorithm 1)."""
    return str(cfg.get('model', {}).get('type', '')).endswith(
        'AlternatingAlgorithm')


def read_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config as astro_mm's tools do: overrides merged, and a
    coupled-pruned backbone's stage widths given to the neck or head.

    Raises:
        FileNotFoundError: The config file does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    sync_neck_widths(cfg.get('model', {}), cfg.get('default_scope'))
    return cfg


def _model_class(model_cfg: Mapping, default_scope: Optional[str]):
    model_type = model_cfg['type']
    if not isinstance(model_type, str):
        return model_type
    with DefaultScope.overwrite_default_scope(default_scope), \
            MODELS.switch_scope_and_registry(None) as registry:
        model_cls = registry.get(model_type)
    if model_cls is None:
        raise KeyError(f'model type {model_type!r} is not registered '
                       f'(default scope {default_scope!r})')
    return model_cls


def is_classifier_config(cfg: Config) -> bool:
    """Whether ``cfg.model`` is an mmpretrain classifier (else a detector or
    another model, whose backbone is what astro_mm exports)."""
    from mmpretrain.models.classifiers import BaseClassifier
    model_cls = _model_class(cfg.model, cfg.get('default_scope'))
    return isinstance(model_cls, type) and issubclass(model_cls,
                                                      BaseClassifier)


def _in_channels(backbone_cfg: Mapping) -> int:
    """Image channels of a backbone config (a pruned one's: its base's)."""
    if 'base' in backbone_cfg:
        backbone_cfg = backbone_cfg['base']
    return int(backbone_cfg.get('in_channels', 3))


def _shape(tensor) -> Tuple[int, ...]:
    return tuple(getattr(tensor, 'shape', ()))


def state_dict_of(checkpoint: Mapping, source: str) -> Dict:
    """The state dict of a loaded checkpoint (a bare state dict too).

    Raises:
        CheckpointMismatchError: It is an astro training checkpoint (the
            task network with its modulator): prune it first.
    """
    state = checkpoint.get('state_dict', checkpoint)
    if any(k.startswith(MODULATOR_PREFIX) for k in state) and \
            any(k.startswith(TNET_PREFIX) for k in state):
        raise CheckpointMismatchError(
            f'{source} is an astro training checkpoint (keys '
            f'{TNET_PREFIX}* and {MODULATOR_PREFIX}*): its task network runs '
            'under the modulator\'s P, which a plain network does not '
            'apply. Prune it first (tools/prune.py CONFIG CKPT --out '
            'OUT.pth folds P into the weights) and use OUT.py with OUT.pth')
    return dict(state)


def check_state_dict(module: nn.Module, state: Mapping, prefix: str = '',
                     source: str = 'the checkpoint',
                     config: str = 'the config') -> None:
    """Refuse a state dict that does not fit ``module`` exactly.

    Args:
        module (nn.Module): The network the config builds.
        state (Mapping): The checkpoint's state dict.
        prefix (str): Where the module's tensors are in ``state``
            (``'backbone.'`` for a backbone in a classifier's or detector's
            checkpoint); keys outside it are not the module's and are
            ignored.
        source (str): The checkpoint's name, for the message.
        config (str): The config's name, for the message.

    Raises:
        CheckpointMismatchError: A tensor of the module is missing or has
            another shape in ``state`` (or ``state`` has one the module
            lacks); the message names the first few keys, their layers and
            both shapes.
    """
    own = module.state_dict()
    theirs = {k[len(prefix):]: v for k, v in state.items()
              if k.startswith(prefix)}
    # shape mismatches by layer: a layer's first tensor stands for it
    layers: Dict[str, list] = {}
    for key, value in own.items():
        if key in theirs and _shape(theirs[key]) != tuple(value.shape):
            layers.setdefault(key.rsplit('.', 1)[0], []).append(
                (key, _shape(theirs[key]), tuple(value.shape)))
    missing = [key for key in own if key not in theirs]
    unexpected = [key for key in theirs if key not in own]
    if not (layers or missing or unexpected):
        return
    lines = []
    for layer, tensors in list(layers.items())[:_LISTED]:
        key, found, expected = tensors[0]
        lines.append(f'layer {prefix}{layer}: {prefix}{key} has shape {found} '
                     f'in the checkpoint, {expected} expected'
                     + (f' (and {len(tensors) - 1} more of its tensors)'
                        if len(tensors) > 1 else ''))
    lines += [f'{prefix}{key}: missing from the checkpoint (expected shape '
              f'{tuple(own[key].shape)})' for key in missing[:_LISTED]]
    lines += [f'{prefix}{key}: in the checkpoint, not in the model'
              for key in unexpected[:_LISTED]]
    more = len(layers) + len(missing) + len(unexpected) - len(lines)
    hint = ('\nThe widths differ: use the config tools/prune.py wrote next '
            'to the pruned checkpoint (OUT.py for OUT.pth), or the unpruned '
            'config for an unpruned checkpoint') if layers else ''
    raise CheckpointMismatchError(
        f'{source} does not fit the network of {config}:\n  '
        + '\n  '.join(lines)
        + (f'\n  ... and {more} more layers or keys' if more > 0 else '')
        + hint)


def network_config(cfg: Config):
    """The config of the network a checkpoint of ``cfg`` holds: its model
    (with the config's data preprocessor), an astro config's task network.
    """
    model_cfg = copy.deepcopy(cfg.model)
    if is_algorithm_config(cfg):
        model_cfg = model_cfg.architecture
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    return model_cfg


def build_network(cfg: Config, part: str = 'model') -> nn.Module:
    """Build ``cfg``'s network (``part='model'``: all of it, see
    :func:`network_config`) or its backbone, under its default scope; no
    weights are initialized or loaded."""
    if part not in PARTS:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')
    model_cfg = network_config(cfg)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return MODELS.build(model_cfg if part == 'model'
                            else model_cfg.backbone)


def build_deployable(config, checkpoint: str, backbone_only: bool = False,
                     cfg_options: Optional[dict] = None) -> Deployable:
    """Build the network of ``config`` and load ``checkpoint`` into it.

    Args:
        config (str | Config): A plain or pruned classifier config (e.g.
            ``OUT.py`` of tools/prune.py) or a detector config (e.g. one of
            tools/emit_detector_config.py).
        checkpoint (str): Its checkpoint (``OUT.pth``, a fine-tuned or a
            published one).
        backbone_only (bool): Build only the backbone (its tensors are the
            checkpoint's ``backbone.*``). A detector config always gives its
            backbone: the rest of a detector (box decoding, NMS) is
            mmdeploy's to export.
        cfg_options (dict, optional): Overrides of the config.

    Returns:
        Deployable: The network in eval mode.

    Raises:
        ValueError: The config trains an astro network (prune it first).
        CheckpointMismatchError: The checkpoint's tensors do not fit.
    """
    if isinstance(config, Config):
        cfg, name = copy.deepcopy(config), config.filename or 'the config'
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        cfg, name = read_config(config, cfg_options), config
    if is_algorithm_config(cfg):
        raise ValueError(
            f'{name} trains an astro network (astro_mm.AlternatingAlgorithm): '
            'its task network runs under the modulator\'s P. Prune the '
            'checkpoint first (tools/prune.py CONFIG CKPT --out OUT.pth) and '
            'export OUT.py with OUT.pth')
    part = 'backbone' if backbone_only or not is_classifier_config(cfg) \
        else 'model'
    state = state_dict_of(load_checkpoint_file(checkpoint, map_location='cpu'),
                          checkpoint)
    module = build_network(cfg, part)
    prefix = BACKBONE_PREFIX if part == 'backbone' else ''
    check_state_dict(module, state, prefix, source=checkpoint, config=name)
    own = {k[len(prefix):]: v for k, v in state.items()
           if k.startswith(prefix)}
    module.load_state_dict(own, strict=True)
    # not ``module.eval()``'s value: mmpretrain's and mmdet's ResNets
    # override ``train`` without returning the module
    module.eval()
    return Deployable(module, part, _in_channels(cfg.model.backbone), cfg)

