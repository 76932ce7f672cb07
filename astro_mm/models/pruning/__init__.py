"""Physical pruning: units with P < delta removed, P folded into weights.

One strategy per backbone family (:mod:`.strategies`): ResNet inner
channels, DenseNet bottleneck channels, transformer FFN hidden neurons and
attention heads; for ResNets optionally the coupled channels of each
stage's residual stream (:mod:`.coupled`, through Torch-Pruning). The
standard pruners, as baselines, through Torch-Pruning (:mod:`.baselines`).
"""
# the family strategies; which backbones each prunes is declared by its
# family (astro_mm.models.families)
from . import densenet_pruning, resnet_pruning, transformer_pruning  # noqa
from .baselines import (BASELINE_PRUNERS, BaselinePruneResult,
                        baseline_pruner, baseline_scores, prune_baseline,
                        register_baseline)
from .cost import KeptCost
from .coupled import (ParamCount, shrink_stages, silence_channels,
                      stage_widths)
from .detector_config import (emit_detector_config,
                              pruned_detector_config)
from .export import (PruneResult, budget_masks, export_pruned,
                     prune_architecture, threshold_masks)
from .folding import fold_unit_probs
from .kept_channels import DeadChannels, prune_to_kept
from .rebuild import (build_pruned_backbone, build_pruned_resnet,
                      load_stage_widths, load_widths, sync_neck_widths)
from .resnet_pruning import fold_probs, prune_inner_channels
from .strategies import (PruningStrategy, inner_widths, prune_units,
                         register_strategy, shrink_to_widths, strategy_for)

__all__ = [
    'export_pruned', 'prune_architecture', 'budget_masks', 'threshold_masks', 'KeptCost',
    'PruneResult',
    'build_pruned_backbone', 'build_pruned_resnet', 'load_widths',
    'fold_probs', 'fold_unit_probs', 'inner_widths', 'prune_inner_channels',
    'prune_units', 'shrink_to_widths', 'PruningStrategy', 'register_strategy',
    'strategy_for', 'prune_baseline', 'baseline_scores', 'baseline_pruner',
    'register_baseline', 'BASELINE_PRUNERS', 'BaselinePruneResult',
    'ParamCount', 'shrink_stages', 'silence_channels', 'stage_widths',
    'load_stage_widths', 'sync_neck_widths', 'prune_to_kept', 'DeadChannels',
    'pruned_detector_config', 'emit_detector_config'
]
