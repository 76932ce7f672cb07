"""Modulation networks (MNets): AstroNet's AN and MA-Net's astrocytes,
each a :class:`BaseModulator`, and the ``gates`` control without one
(:class:`FreeLogitsModulator`)."""
from .astronet import AstroNetModulator
from .base import BaseModulator
from .free_logits import FreeLogitsModulator
from .manet import MANetModulator

__all__ = ['BaseModulator', 'AstroNetModulator', 'MANetModulator',
           'FreeLogitsModulator']
