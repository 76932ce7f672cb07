"""Physical pruning: units with P < delta removed, P folded into weights."""
from .export import PruneResult, export_pruned, threshold_for_budget
from .resnet_pruning import (build_pruned_resnet, fold_probs, inner_widths,
                             prune_inner_channels, shrink_to_widths)

__all__ = [
    'export_pruned', 'threshold_for_budget', 'PruneResult',
    'build_pruned_resnet', 'fold_probs', 'inner_widths',
    'prune_inner_channels', 'shrink_to_widths'
]
