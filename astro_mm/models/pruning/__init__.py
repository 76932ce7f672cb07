"""Physical pruning: units with P < delta removed, P folded into weights.

One strategy per backbone family (:mod:`.strategies`): ResNet inner
channels, DenseNet bottleneck channels, transformer FFN hidden neurons and
attention heads.
"""
# the family strategies register themselves on import
from . import densenet_pruning, resnet_pruning, transformer_pruning  # noqa
from .export import PruneResult, export_pruned, threshold_for_budget
from .folding import fold_unit_probs
from .rebuild import build_pruned_backbone, build_pruned_resnet, load_widths
from .resnet_pruning import fold_probs, prune_inner_channels
from .strategies import (PruningStrategy, inner_widths, prune_units,
                         register_strategy, shrink_to_widths, strategy_for)

__all__ = [
    'export_pruned', 'threshold_for_budget', 'PruneResult',
    'build_pruned_backbone', 'build_pruned_resnet', 'load_widths',
    'fold_probs', 'fold_unit_probs', 'inner_widths', 'prune_inner_channels',
    'prune_units', 'shrink_to_widths', 'PruningStrategy', 'register_strategy',
    'strategy_for'
]
