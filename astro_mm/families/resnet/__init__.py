"""The ResNet family, one folder: its modulated units and stage groups
(:mod:`.family`), its inner-channel pruning strategy (:mod:`.strategy`) and
its channel groups for coupled pruning (:mod:`.channel_groups`)."""
from .family import ResNetFamily
from .strategy import ResNetPruning

__all__ = ['ResNetFamily', 'ResNetPruning']
