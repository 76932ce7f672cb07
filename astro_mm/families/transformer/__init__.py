"""The transformer family, one folder: its modulated units (:mod:`.family`) and
its pruning strategy (:mod:`.strategy`)."""
from .family import TransformerFamily
from .strategy import TransformerPruning

__all__ = ['TransformerFamily', 'TransformerPruning']
