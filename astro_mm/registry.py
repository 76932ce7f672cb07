"""astro_mm's registries, children of mmengine's root registries.

Every astro_mm component is named from a config with the ``astro_mm.``
scope prefix, whatever the config's ``default_scope`` (``mmdet`` or
``mmpretrain``)::

    model = dict(type='mmdet.FasterRCNN',
                 backbone=dict(type='astro_mm.PrunedBackbone',
                               base=dict(type='mmdet.ResNet', depth=50),
                               widths=..., init_cfg=...))

mmengine resolves the prefix by importing ``astro_mm.registry`` and then the
``locations`` below, so no ``custom_imports`` is needed for the lookup itself,
and a component's module (with the mmdet / mmpretrain classes it builds on)
is imported only when a config first names an astro_mm type of its
registry. Configs still list ``custom_imports = dict(imports=['astro_mm'])``
(plus ``'astro_mm.compat.enable'`` in astro_mm's own ``_base_`` runtimes,
for its compatibility layer: see :mod:`astro_mm.compat`).

Strict pretrained weights are astro_mm's ``Pretrained`` weight initializer
(:class:`astro_mm.compat.StrictPretrainedInit`), asked for with
``init_cfg=dict(type='Pretrained', _scope_='astro_mm', ...)``: the type
stays ``'Pretrained'`` so that mmengine's ``BaseModule`` still runs it after
every other initializer (and backbones such as mmpretrain's ViT still skip
their own re-initialization), and ``_scope_`` picks astro_mm's registry
(:data:`WEIGHT_INITIALIZERS`) instead of mmengine's.

Inside astro_mm components, children from other libraries are built with
their prefix too (``mmpretrain.ResNet``), so a config means the same thing
under any default scope.

Config keys are checked when an astro_mm model or hook is built: a key its
constructor does not take raises :class:`ConfigKeyError` naming the class,
the unknown keys and the valid ones (Python's own ``TypeError`` names only
the first unknown key, and a constructor with ``**kwargs`` may never say
anything). The check is the build function of astro_mm's ``MODELS`` and
``HOOKS`` and wraps that of mmengine's root registries (which the runner
builds the top-level model and the hooks with) and mmdet's and mmpretrain's
``MODELS`` (which build backbones such as ``astro_mm.PrunedBackbone``) once
they are imported (:func:`check_keys_in_loaded_libraries`); it
acts on astro_mm's own types only, every other type is built exactly as
before.
"""
import inspect
import sys
from typing import Callable, Optional, Set

from torch import nn
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS  # noqa: E501
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS  # noqa: E501
from mmengine.registry import Registry

# Keys every build function handles itself.
_BUILD_KEYS = {'type', '_scope_'}


class ConfigKeyError(TypeError):
    """A config gives an astro_mm type a key its constructor does not take."""


def accepted_keys(obj) -> Optional[Set[str]]:
    """The keyword arguments a class or function accepts.

    A class's ``**kwargs`` are taken to be passed on to the next
    ``__init__`` in its MRO (as every astro_mm class does), so their keys
    are that one's, and so on up to a constructor without ``**kwargs``, or
    ``object`` / ``nn.Module``, which take none.

    Returns:
        set[str] | None: The names, or None when any name is accepted (a
        function with ``**kwargs``).
    """
    chain = [c.__dict__.get('__init__') for c in obj.__mro__] \
        if inspect.isclass(obj) else [obj]
    keys: Set[str] = set()
    for cls, init in zip(getattr(obj, '__mro__', [obj]), chain):
        if init is None:
            continue
        if cls in (object, nn.Module):  # take nothing, refuse the rest
            return keys
        params = list(inspect.signature(init).parameters.values())
        if inspect.isclass(obj):
            params = params[1:]  # self
        keys |= {
            p.name for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return keys
        if not inspect.isclass(obj):
            return None
    return None


def check_cfg_keys(obj, cfg, default_args: Optional[dict] = None) -> None:
    """Raise :class:`ConfigKeyError` if ``cfg`` has keys ``obj`` refuses.

    Args:
        obj (type | callable): What ``cfg['type']`` names.
        cfg (dict): Its config.
        default_args (dict, optional): Keys the build function adds.
    """
    valid = accepted_keys(obj)
    if valid is None:
        return
    given = set(cfg) | set(default_args or {})
    unknown = sorted(given - valid - _BUILD_KEYS)
    if unknown:
        raise ConfigKeyError(
            f"astro_mm.{obj.__name__}: unknown config keys {unknown}; valid "
            f'keys: {sorted(valid)}')


def _is_astro_mm(obj) -> bool:
    return getattr(obj, '__module__', '').startswith('astro_mm.')


def checked_build_func(build_func: Callable) -> Callable:
    """``build_func`` that first checks the keys of astro_mm types.

    Args:
        build_func (callable): A registry's build function, e.g. mmengine's
            ``build_from_cfg``; called unchanged after the check.
    """
    if getattr(build_func, '_astro_mm_checked', False):
        return build_func

    def build(cfg, registry, default_args=None, **kwargs):
        obj_type = cfg.get('type') if isinstance(cfg, dict) else None
        obj = obj_type
        if isinstance(obj_type, str):
            with registry.switch_scope_and_registry(
                    cfg.get('_scope_')) as scoped:
                obj = scoped.get(obj_type)
        if obj is not None and _is_astro_mm(obj):
            check_cfg_keys(obj, cfg, default_args)
        return build_func(cfg, registry, default_args, **kwargs)

    build._astro_mm_checked = True
    build.__doc__ = build_func.__doc__
    return build


def check_keys_on_build(registry: Registry) -> None:
    """Make ``registry`` check astro_mm types' config keys (idempotent)."""
    registry.build_func = checked_build_func(registry.build_func)


def check_keys_in_loaded_libraries() -> None:
    """Make the ``MODELS`` of mmdet and mmpretrain, those already imported,
    check astro_mm types' config keys (one imported later copies the
    checking build function of mmengine's ``MODELS``)."""
    for name in ('mmdet.registry', 'mmpretrain.registry'):
        library = sys.modules.get(name)
        if library is not None:
            check_keys_on_build(library.MODELS)


check_keys_on_build(MMENGINE_MODELS)
check_keys_on_build(MMENGINE_HOOKS)
check_keys_in_loaded_libraries()

# every package of astro_mm.models that registers a model (astro_mm.models
# itself imports nothing: its modulation parts are imported by the families)
MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    locations=[
        'astro_mm.models.algorithms', 'astro_mm.models.backbones',
        'astro_mm.models.classifiers', 'astro_mm.models.data_preprocessors',
        'astro_mm.models.heads', 'astro_mm.models.losses',
        'astro_mm.models.modulators'
    ])
# the modules that register datasets: astro_mm.datasets itself imports
# them only when used (it stays importable without mmdet / mmpretrain for
# its demo data generators)
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=[
        'astro_mm.datasets.checked_coco', 'astro_mm.datasets.generated_cifar',
        'astro_mm.datasets.holdout'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['astro_mm.datasets'])
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['astro_mm.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['astro_mm.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['astro_mm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['astro_mm.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['astro_mm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['astro_mm.engine'])
# Only 'Pretrained' (StrictPretrainedInit), named with _scope_='astro_mm'.
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    locations=['astro_mm.compat.strict_pretrained'])
# Backbone families (ResNet, DenseNet-BC, transformers, ...): what each
# modulates, prunes and rebuilds, declared in one folder per family
# (astro_mm/families/<family>/, all imported by the package astro_mm.families);
# not built from configs, resolved per backbone by
# astro_mm.families.resolve_family.
FAMILIES = Registry('backbone family', locations=['astro_mm.families'])
