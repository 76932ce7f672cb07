"""Modulation networks (MNets): AstroNet's AN and MA-Net's astrocytes,
each a :class:`BaseModulator`."""
from .astronet import AstroNetModulator
from .base import BaseModulator
from .manet import MANetModulator

__all__ = ['BaseModulator', 'AstroNetModulator', 'MANetModulator']
