"""Params and FLOPs of a config's deployed network: a classifier (the TNet
of an astro config) or a detector, optionally with a pruned backbone.

FLOPs are those of :mod:`astro_mm.pruning.report` (mmengine's
``FlopAnalyzer``, multiply-adds of the matrix products, attention's
included), so the suites' ``flops_G``, ``tools/prune.py``'s report and
``tools/analysis_tools/get_flops.py`` count alike.
"""
import argparse
import copy
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope
from torch import nn

from astro_mm.compat import load_checkpoint_file
from astro_mm.pruning.report import (budget_flops, flops,
                                            input_channels, mac_analyzer)
from astro_mm.registry import MODELS
from astro_mm.pruning import pruned_detector_config, sync_neck_widths


def _parse_options(options: List[str]) -> dict:
    """``key=value`` strings parsed exactly as the tools' --cfg-options."""
    if not options:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def _deployed(model: nn.Module) -> Tuple[nn.Module, int]:
    """The network that is deployed, and the parameters of it that are
    dropped after training: for an ``AlternatingAlgorithm`` its
    ``architecture`` (no modulator), for a CDS classifier the classifier
    without its projection heads."""
    tnet = getattr(model, 'architecture', model)
    dropped = getattr(tnet, 'cds_heads', None)
    return tnet, (0 if dropped is None else
                  sum(p.numel() for p in dropped.parameters()))


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
    tnet, dropped = _deployed(model)
    params = sum(p.numel() for p in tnet.parameters()) - dropped
    # a freshly built algorithm has no P yet: its scaling hooks are no-ops
    backbone = tnet.backbone
    backbone_flops = flops(backbone, input_size,
                           in_channels=input_channels(backbone))
    return dict(params_M=round(params / 1e6, 4),
                flops_G=round(backbone_flops / 1e9, 4))


def with_pruned_backbone(cfg: Config, checkpoint: str) -> Config:
    """``cfg`` whose deployed network has the pruned backbone of
    ``checkpoint`` (written by ``tools/prune.py``: ``meta.pruned_widths``,
    after a coupled prune ``meta.stage_widths``, which go to the neck or
    head too); an astro config becomes its plain architecture, as
    ``tools/prune.py`` exports it.

    Args:
        cfg (Config): A classifier, astro or detector config; not changed.
        checkpoint (str): The pruned checkpoint.
    """
    cfg = copy.deepcopy(cfg)
    if 'architecture' in cfg.model:  # an astro config: its TNet
        architecture = cfg.model.architecture
        if 'data_preprocessor' in cfg.model:
            architecture.setdefault('data_preprocessor',
                                    cfg.model.data_preprocessor)
        cfg.model = architecture
    return pruned_detector_config(cfg, checkpoint)


def _load_backbone(backbone: nn.Module, checkpoint: str) -> None:
    """The pruned checkpoint's ``backbone.*`` tensors, strictly: a
    checkpoint of another network fails here, naming the layer."""
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    tensors = {key[len('backbone.'):]: value for key, value in state.items()
               if key.startswith('backbone.')}
    if not tensors:
        raise KeyError(f'{checkpoint} holds no backbone.* tensors')
    backbone.load_state_dict(tensors)


class _TensorForward(nn.Module):
    """``model(inputs, data_samples, mode='tensor')`` as a module of one
    tensor input, what the jit trace of the counter calls."""

    def __init__(self, model: nn.Module, data_samples=None):
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs):
        return self.model(inputs, self.data_samples, mode='tensor')


def _is_detector(model: nn.Module) -> bool:
    try:
        from mmdet.models.detectors import BaseDetector
    except ImportError:  # mmdet is optional for classification
        return False
    return isinstance(model, BaseDetector)


def _traced_inputs(model: nn.Module, image_size: Tuple[int, int]):
    """The (inputs, data samples) of one image for ``mode='tensor'``:
    a classifier takes the image tensor; a detector one preprocessed
    (padded, as its data preprocessor pads) with the samples' metainfo."""
    height, width = image_size
    channels = input_channels(model.backbone)
    # a fixed image: a detector's second stage runs on as many proposals
    # as survive its NMS, which the image decides
    generator = torch.Generator().manual_seed(0)
    if not _is_detector(model):
        return torch.randn(1, channels, height, width,
                           generator=generator), None
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(
        img_shape=(height, width), ori_shape=(height, width),
        scale_factor=(1., 1.)))
    image = torch.randint(0, 256, (channels, height, width),
                          dtype=torch.uint8, generator=generator)
    data = model.data_preprocessor(
        dict(inputs=[image], data_samples=[sample]), training=False)
    return data['inputs'], data['data_samples']


def network_complexity(model: nn.Module,
                       image_size: Union[int, Sequence[int]]) -> dict:
    """FLOPs and params of a built classifier or detector and of its
    backbone, for one image, from one trace of ``mode='tensor'``.

    Args:
        model (nn.Module): An mmpretrain classifier or mmdet detector (or
            an astro algorithm: its deployed TNet is counted).
        image_size (int | tuple[int, int]): Square size, or (H, W) (a
            detector's input is then padded as its preprocessor pads).

    Returns:
        dict: ``input_shape`` (what the network saw), ``detector``, and for
        ``model`` and ``backbone``: ``flops`` (every matrix product's
        MACs), ``budget_flops`` (the convs' and linears': a FLOPs budget's
        measure), ``flops_by_operator``, ``params``.
    """
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    tnet, dropped = _deployed(model)
    if getattr(tnet, 'backbone', None) is None:
        raise ValueError(f'{type(tnet).__name__} has no backbone: expected '
                         'a classifier or a detector')
    was_training = tnet.training
    tnet.eval()
    try:
        with torch.no_grad():
            inputs, samples = _traced_inputs(tnet, tuple(image_size))
            analyzer = mac_analyzer(_TensorForward(tnet, samples), (inputs, ))
            by_module = analyzer.by_module_and_operator()
    finally:
        tnet.train(was_training)
    result = dict(input_shape=list(inputs.shape), detector=_is_detector(tnet))
    for key, scope, module, minus in (('model', '', tnet, dropped),
                                      ('backbone', 'model.backbone',
                                       tnet.backbone, 0)):
        counts = {op: int(n) for op, n in by_module[scope].items() if n}
        result[key] = dict(
            flops=sum(counts.values()), budget_flops=budget_flops(counts),
            flops_by_operator=counts,
            params=sum(p.numel() for p in module.parameters()) - minus)
    return result


def config_complexity(cfg: Config, image_size: Union[int, Sequence[int]],
                      pruned: Optional[str] = None) -> dict:
    """:func:`network_complexity` of the network a config builds.

    Args:
        cfg (Config): A classifier, astro or detector config (or the
            pruned config ``tools/prune.py`` writes beside its checkpoint).
        image_size (int | tuple[int, int]): Square size, or (H, W).
        pruned (str, optional): A checkpoint of ``tools/prune.py``: the
            backbone takes its pruned widths (:func:`with_pruned_backbone`)
            and its tensors.
    """
    if pruned is not None:
        cfg = with_pruned_backbone(cfg, pruned)
    model_cfg = copy.deepcopy(cfg.model)
    # a pruned config naming its checkpoint: the neck reads its stage
    # widths from there (as tools/train.py and test.py do)
    sync_neck_widths(model_cfg, cfg.get('default_scope'))
    if pruned is not None:
        # the tensors are loaded below, strictly; no init needed
        model_cfg.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmpretrain')):
        model = MODELS.build(model_cfg)
        if pruned is not None:
            _load_backbone(_deployed(model)[0].backbone, pruned)
        return network_complexity(model, image_size)


def is_detector_config(cfg: Config) -> bool:
    """Whether the config's model (an astro config's architecture) is a
    detector."""
    # the detectors' models hold a bbox / RPN head; classifiers a head
    model = cfg.model.get('architecture', cfg.model)
    return any(key in model for key in ('bbox_head', 'rpn_head',
                                        'roi_head', 'mask_head'))


def format_complexity(result: dict) -> str:
    """What ``tools/analysis_tools/get_flops.py`` prints of a
    :func:`config_complexity` result: mmdet's layout, the backbone's lines
    added."""
    line = '=' * 30
    model, backbone = result['model'], result['backbone']
    return '\n'.join([
        line,
        f'Input shape: {tuple(result["input_shape"])}',
        f'Flops: {model["flops"] / 1e9:.4f} G ({model["flops"]})',
        f'Params: {model["params"] / 1e6:.4f} M ({model["params"]})',
        f'Backbone flops: {backbone["flops"] / 1e9:.4f} G '
        f'({backbone["flops"]})',
        f'Backbone flops, conv+linear (a budget\'s measure): '
        f'{backbone["budget_flops"] / 1e9:.4f} G '
        f'({backbone["budget_flops"]})',
        f'Backbone params: {backbone["params"] / 1e6:.4f} M '
        f'({backbone["params"]})',
        'Flops by operator: ' + ', '.join(
            f'{op} {count}' for op, count in sorted(
                model['flops_by_operator'].items())),
        line,
        'FLOPs are multiply-adds of the matrix products (convs, linears, '
        'attention); norms, activations and pooling are not counted.',
    ])
