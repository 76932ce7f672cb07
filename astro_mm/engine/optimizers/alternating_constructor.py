"""Optimizers for Algorithm 1: one for the TNet, one (or one per
sub-astrocyte) for the MNet, each with its own LR schedule."""
import copy
from collections import OrderedDict
from typing import Iterable, Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS

from astro_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS

# settings of every wrapper, accepted at the top level (tools/train.py --amp)
WRAPPER_KEYS = ('type', 'loss_scale', 'dtype', 'float32_if_emulated')


def _build(cfg: dict, params: Iterable) -> object:
    cfg = copy.deepcopy(cfg)
    optimizer_cfg = cfg.pop('optimizer')
    optimizer = OPTIMIZERS.build(dict(optimizer_cfg, params=list(params)))
    cfg.setdefault('type', 'OptimWrapper')
    return OPTIM_WRAPPERS.build(dict(cfg, optimizer=optimizer))


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class AlternatingOptimWrapperConstructor:
    """Build the ``OptimWrapperDict`` of an ``AlternatingAlgorithm``.

    Config::

        optim_wrapper = dict(
            constructor='astro_mm.AlternatingOptimWrapperConstructor',
            tnet=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
            mnet=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
            per_astrocyte=True)

    Wrappers: ``tnet`` (the architecture, through mmengine's default
    constructor, so ``paramwise_cfg`` applies), ``mnet`` (the modulator, or
    with ``per_astrocyte`` only its shared part: g1, g2, projector) and, with
    ``per_astrocyte``, ``mnet_a1`` ... ``mnet_aM`` in chain order. Schedulers
    given as a list apply to every wrapper; a dict keyed by these names gives
    each its own.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        missing = {'tnet', 'mnet'} - set(cfg)
        if missing:
            raise KeyError(f'optim_wrapper needs the keys tnet and mnet; '
                           f'missing {sorted(missing)}')
        self.tnet_cfg = cfg.pop('tnet')
        self.mnet_cfg = cfg.pop('mnet')
        self.per_astrocyte = cfg.pop('per_astrocyte', True)
        self.paramwise_cfg = paramwise_cfg
        self.common = {key: cfg.pop(key) for key in WRAPPER_KEYS if key in cfg}
        if cfg:
            raise KeyError(
                f'unknown optim_wrapper keys {sorted(cfg)}; expected tnet, '
                f'mnet, per_astrocyte and the wrapper settings '
                f'{", ".join(WRAPPER_KEYS)}')

    def __call__(self, model) -> OptimWrapperDict:
        model = model.module if is_model_wrapper(model) else model
        tnet_cfg = dict(self.common, **self.tnet_cfg)
        tnet_cfg.setdefault('type', 'OptimWrapper')
        wrappers = OrderedDict(tnet=DefaultOptimWrapperConstructor(
            tnet_cfg, self.paramwise_cfg)(model.architecture))
        modulator = model.modulator
        modulator = modulator.module if is_model_wrapper(modulator) else modulator
        mnet_cfg = dict(self.common, **self.mnet_cfg)
        if self.per_astrocyte and modulator.num_astrocytes > 1:
            wrappers['mnet'] = _build(mnet_cfg, modulator.shared_parameters())
            for j in range(modulator.num_astrocytes):
                wrappers[f'mnet_a{j + 1}'] = _build(
                    mnet_cfg, modulator.astrocyte_parameters(j))
        else:
            wrappers['mnet'] = _build(mnet_cfg, modulator.parameters())
        scalers = [w.loss_scaler for name, w in wrappers.items()
                   if name.startswith('mnet') and hasattr(w, 'loss_scaler')]
        for name, wrapper in wrappers.items():
            if name.startswith('mnet') and scalers:
                wrapper.loss_scaler = scalers[0]
        return OptimWrapperDict(**wrappers)
