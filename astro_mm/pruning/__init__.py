"""Physical pruning, beside :mod:`astro_mm.models` as in mmrazor and
Torch-Pruning: units with P < delta (or outside a budget) removed, P
folded into the weights; the standard pruners as baselines.

What is prunable is a backbone family's knowledge (:mod:`astro_mm.families`,
one folder each, with its :class:`~.strategies.PruningStrategy` and channel
groups); this package receives the family's plan (``plan=``, or an
algorithm's ``family_plan``) and never looks a family up:

* :mod:`.export`: an astro algorithm's P into a smaller plain network;
* :mod:`.baselines`: the standard pruners through Torch-Pruning, and
  :mod:`.kept_channels` (a prune's kept channels applied to another model);
* :mod:`.cost`, :mod:`.coupled`: what a pruned backbone keeps, exactly;
  Torch-Pruning's channel groups, counted, removed and switched off;
* :mod:`.strategies`, :mod:`.slicing`, :mod:`.folding`: the strategy
  interface and the tensor surgery every family shares;
* :mod:`.recalibration`, :mod:`.report`: batch-norm statistics after a
  prune, and what a prune changed;
* :mod:`.rebuild`, :mod:`.detector_config`: the widths a pruned config
  reads, and a detector config around a pruned backbone.
"""
from .baselines import (BASELINE_PRUNERS, BaselinePruneResult,
                        baseline_pruner, baseline_scores, prune_baseline,
                        register_baseline)
from .cost import KeptCost
from .coupled import ParamCount, silence_channels
from .detector_config import emit_detector_config, pruned_detector_config
from .export import (PruneResult, budget_masks, export_pruned,
                     prune_architecture, threshold_masks)
from .folding import fold_unit_probs
from .kept_channels import DeadChannels, prune_to_kept
from .rebuild import load_stage_widths, load_widths, sync_neck_widths
from .strategies import PruningStrategy

__all__ = [
    'export_pruned', 'prune_architecture', 'budget_masks', 'threshold_masks',
    'KeptCost', 'PruneResult', 'load_widths', 'fold_unit_probs',
    'PruningStrategy', 'prune_baseline', 'baseline_scores', 'baseline_pruner',
    'register_baseline', 'BASELINE_PRUNERS', 'BaselinePruneResult',
    'ParamCount', 'silence_channels', 'load_stage_widths', 'sync_neck_widths',
    'prune_to_kept', 'DeadChannels', 'pruned_detector_config',
    'emit_detector_config'
]
