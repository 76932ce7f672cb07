"""astro_mm's registries, children of mmengine's root registries.

Every astro_mm component is named from a config with the ``astro_mm.``
scope prefix, whatever the config's ``default_scope`` (``mmdet`` or
``mmpretrain``)::

    model = dict(type='mmdet.FasterRCNN',
                 backbone=dict(type='astro_mm.ManetResNet', ...))

mmengine resolves the prefix by importing ``astro_mm.registry`` and then the
``locations`` below, so no ``custom_imports`` is needed for the lookup itself.
Configs still list ``custom_imports = dict(imports=['astro_mm'])`` (the
``_base_`` runtime does) so that astro_mm's compatibility layer (safe
checkpoint loading, atomic saving) is active before any checkpoint is read,
also when a config names no astro_mm type.

Inside astro_mm components, children from other libraries are built with
their prefix too (``mmpretrain.ResNet``), so a config means the same thing
under any default scope.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS  # noqa: E501
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['astro_mm.models'])
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['astro_mm.datasets'])
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
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['astro_mm.engine'])
