"""The densenet family, one folder: its modulated units (:mod:`.family`) and
its pruning strategy (:mod:`.strategy`)."""
from .family import DenseNetFamily
from .strategy import DenseNetPruning

__all__ = ['DenseNetFamily', 'DenseNetPruning']
