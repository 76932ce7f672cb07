"""Models: the modulation mechanism, the modulators, Algorithm 1 and
physical pruning."""
from .algorithms import AlternatingAlgorithm
from .modulators import AstroNetModulator, MANetModulator
from .pruning import build_pruned_resnet, export_pruned

__all__ = [
    'AlternatingAlgorithm', 'AstroNetModulator', 'MANetModulator',
    'export_pruned', 'build_pruned_resnet'
]
