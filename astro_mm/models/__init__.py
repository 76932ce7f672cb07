"""Models: the modulation mechanism, the modulators and Algorithm 1."""
from .algorithms import AlternatingAlgorithm
from .modulators import AstroNetModulator, MANetModulator

__all__ = ['AlternatingAlgorithm', 'AstroNetModulator', 'MANetModulator']
