"""Modulation networks (MNets): AstroNet's AN and MA-Net's astrocytes."""
from .astronet import AstroNetModulator
from .manet import MANetModulator

__all__ = ['AstroNetModulator', 'MANetModulator']
