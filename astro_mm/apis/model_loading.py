"""Build a config's model and load a trained checkpoint into it.

What ``tools/prune.py`` and the benchmarks read a trained run with: the
whole :class:`astro_mm.AlternatingAlgorithm` of an astro config (its TNet
and the P of its modulator), or the plain classifier of any config.
"""
import copy

from mmengine.config import Config, ConfigDict
from torch import nn

from astro_mm.compat import load_checkpoint_file
from astro_mm.registry import MODELS


def is_algorithm(cfg: Config) -> bool:
    """Whether the config's model is an astro_mm.AlternatingAlgorithm."""
    return str(cfg.model.get('type', '')).endswith('AlternatingAlgorithm')


def classifier_config(cfg: Config) -> ConfigDict:
    """The plain classifier of a config (an astro config's architecture)."""
    return cfg.model.architecture if is_algorithm(cfg) else cfg.model


def load_model(model_cfg: ConfigDict, cfg: Config,
               checkpoint: str) -> nn.Module:
    """Build ``model_cfg`` and load ``checkpoint`` into it, in eval mode.

    Args:
        model_cfg (ConfigDict): The model to build (``cfg.model`` or a part
            of it).
        cfg (Config): The whole config; its ``data_preprocessor`` is the
            model's unless ``model_cfg`` names one.
        checkpoint (str): A checkpoint of that model (its ``state_dict``,
            or the state dict itself).
    """
    model_cfg = copy.deepcopy(model_cfg)
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    model.load_state_dict(state.get('state_dict', state))
    return model.eval()


def load_algorithm(cfg: Config, checkpoint: str) -> nn.Module:
    """Build the config's model and load the checkpoint into it.

    Raises:
        ValueError: The config's model is not an AlternatingAlgorithm (a
            plain network has no P to prune by).
    """
    if not is_algorithm(cfg):
        raise ValueError(
            f'the model of this config is {cfg.model.get("type")}, not an '
            'astro_mm.AlternatingAlgorithm: there is no P to prune by (a '
            'plain network is pruned with --method and a baseline)')
    return load_model(cfg.model, cfg, checkpoint)
