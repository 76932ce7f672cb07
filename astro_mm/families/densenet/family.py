"""The DenseNet-BC family: mmpretrain ``DenseNet`` and astro_mm's
``DenseNet_CIFAR``.

* Modulated: the bottleneck 1x1 conv (``conv1``) of each dense layer, P
  folded into its own norm ``norm2``. Every other conv output reaches the
  next layer through a per-channel batch norm (the next layers' ``norm1``,
  the transition's ``norm``), which would normalize a scale away in
  training mode (pre-activation, concatenated features).
* Stage groups: ``stages.{i}``.
* Prunable: the bottleneck channels, inner only
  (:class:`~.strategy.DenseNetPruning`);
  the growth rate, hence every concatenated width, stays.
* Grad-CAM: the last of ``stages``.
"""
from astro_mm.models.modulated.unit_rules import UnitRules
from astro_mm.registry import FAMILIES
from ..base import BackboneFamily
from .strategy import DenseNetPruning


@FAMILIES.register_module()
class DenseNetFamily(BackboneFamily):
    """Dense layers; tried first (a ResNet BasicBlock has the same conv /
    norm names)."""
    name = 'DenseNet dense layers'
    priority = 10
    unit_rules = {
        'DenseNet': UnitRules(
            include=(r'^stages\.\d+\.block\.\d+\.conv1$', ),
            norm_after={'conv1': 'norm2'}),
    }
    strategy = DenseNetPruning()
