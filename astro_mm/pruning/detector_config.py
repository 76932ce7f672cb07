"""A pruned backbone swapped into anyone's mmdet config, as a standalone
config file.

:func:`pruned_detector_config` takes a detector config (yours, mmdet's, or
astro_mm's) and a checkpoint written by ``tools/prune.py`` and returns the
complete config with

* the backbone replaced by ``astro_mm.PrunedBackbone``: the detector's own
  backbone as ``base``, the pruned widths (and, after a coupled prune, the
  stage widths) inline, and ``init_cfg`` loading the checkpoint's
  ``backbone.*`` tensors with astro_mm's strict initializer;
* the neck's ``in_channels`` set from the stage widths
  (:func:`~.rebuild.sync_neck_widths`), so a coupled prune needs no hand
  edit;
* ``custom_imports`` listing ``astro_mm``, which registers
  ``astro_mm.PrunedBackbone`` inside mmdet's own tools.

``tools/prune.py ... --detector-config DET.py --emit OUT.py`` and
``tools/emit_detector_config.py PRUNED.pth DET.py OUT.py`` write it with
mmengine's ``Config.dump``; mmdet's ``tools/train.py OUT.py`` runs it.
"""
import copy
import os.path as osp
from typing import Optional

from mmengine.config import Config, ConfigDict

from .rebuild import load_stage_widths, load_widths, sync_neck_widths

# Keys of the detector's backbone that the pruned checkpoint replaces.
_REPLACED_BACKBONE_KEYS = ('init_cfg', 'pretrained')


def _scoped(type_name, default_scope: Optional[str]):
    """``type_name`` with the config's scope, so that astro_mm's registry
    builds the base under any default scope (``ResNet`` ->
    ``mmdet.ResNet``)."""
    if not isinstance(type_name, str) or '.' in type_name or \
            not default_scope:
        return type_name
    return f'{default_scope}.{type_name}'


def pruned_detector_config(detector_cfg: Config,
                           checkpoint: str,
                           prefix: str = 'backbone.') -> Config:
    """``detector_cfg`` with the pruned backbone of ``checkpoint``.

    Args:
        detector_cfg (Config): An mmdet detector config (``model.backbone``
            of the unpruned architecture the checkpoint was pruned from,
            e.g. ``mmdet.ResNet`` of the same depth); not changed.
        checkpoint (str): A checkpoint of ``tools/prune.py``
            (``meta.pruned_widths``, for a coupled prune
            ``meta.stage_widths``); its path is written absolute.
        prefix (str): Where the backbone's tensors are in the checkpoint
            (a classifier's: ``'backbone.'``).

    Returns:
        Config: The complete detector config.

    Raises:
        KeyError: The config has no ``model.backbone``, or the checkpoint
            no ``meta.pruned_widths``.
        ValueError: The detector's neck is of a type whose input widths
            astro_mm does not know (after a coupled prune).
    """
    cfg = copy.deepcopy(detector_cfg)
    model = cfg.get('model', {})
    if 'backbone' not in model:
        raise KeyError(f'{cfg.filename}: no model.backbone to replace')
    checkpoint = osp.abspath(checkpoint)
    default_scope = cfg.get('default_scope')
    base = ConfigDict({k: v for k, v in model.backbone.items()
                       if k not in _REPLACED_BACKBONE_KEYS})
    base.type = _scoped(base.type, default_scope)
    backbone = ConfigDict(
        type='astro_mm.PrunedBackbone', base=base,
        widths=load_widths(checkpoint),
        init_cfg=dict(type='Pretrained', _scope_='astro_mm',
                      checkpoint=checkpoint, prefix=prefix))
    stage_widths = load_stage_widths(checkpoint)
    if stage_widths:
        backbone.stage_widths = stage_widths
    model.backbone = backbone
    sync_neck_widths(model, default_scope)
    imports = list(cfg.get('custom_imports', {}).get('imports', []))
    if 'astro_mm' not in imports:
        imports.insert(0, 'astro_mm')
    cfg.custom_imports = ConfigDict(
        cfg.get('custom_imports', {}), imports=imports,
        allow_failed_imports=False)
    return cfg


def emit_detector_config(checkpoint: str, detector_config: str, out: str,
                         cfg_options: Optional[dict] = None) -> Config:
    """Write :func:`pruned_detector_config` of a config file to ``out``.

    Args:
        checkpoint (str): A checkpoint of ``tools/prune.py``.
        detector_config (str): The detector config file (``mmdet::...``
            names mmdet's own).
        out (str): The config to write (.py).
        cfg_options (dict, optional): Merged into the detector config
            first (``--cfg-options``).

    Returns:
        Config: What was written.
    """
    if not out.endswith('.py'):
        raise ValueError(f'the detector config to write must end with .py, '
                         f'got {out}')
    cfg = Config.fromfile(detector_config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    emitted = pruned_detector_config(cfg, checkpoint)
    emitted.dump(out)
    return emitted
