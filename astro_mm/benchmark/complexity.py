"""Params and FLOPs of a classification config's task network."""
import argparse
import copy
from typing import List

from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope

from astro_mm.models.pruning.report import flops, input_channels
from astro_mm.registry import MODELS


def _parse_options(options: List[str]) -> dict:
    """``key=value`` strings parsed exactly as the tools' --cfg-options."""
    if not options:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def classifier_complexity(config: str, cfg_options: List[str],
                          input_size: int) -> dict:
    """``params_M`` of the TNet and ``flops_G`` of its backbone.

    The TNet is what is deployed: for an ``AlternatingAlgorithm`` its
    ``architecture`` (no modulator), for a CDS classifier the classifier
    without its projection heads (they are dropped after training).

    Args:
        config (str): A classification config.
        cfg_options (list[str]): ``key=value`` overrides, as on the command
            line.
        input_size (int): Square image size of the FLOP count.
    """
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(_parse_options(cfg_options))
    model_cfg = copy.deepcopy(cfg.model)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmpretrain')):
        model = MODELS.build(model_cfg)
    tnet = getattr(model, 'architecture', model)
    dropped = getattr(tnet, 'cds_heads', None)
    params = sum(p.numel() for p in tnet.parameters())
    if dropped is not None:
        params -= sum(p.numel() for p in dropped.parameters())
    # a freshly built algorithm has no P yet: its scaling hooks are no-ops
    backbone = tnet.backbone
    backbone_flops = flops(backbone, input_size,
                           in_channels=input_channels(backbone))
    return dict(params_M=round(params / 1e6, 4),
                flops_G=round(backbone_flops / 1e9, 4))
