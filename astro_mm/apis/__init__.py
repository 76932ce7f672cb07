"""The library behind the command-line tools: config loading and runner
building, loading a trained algorithm, pruning a checkpoint and the
fine-tuning config of the pruned network."""
from .finetune import (dropped_from_pruned_config, finetune_config,
                       pruned_config)
from .model_loading import (classifier_config, is_algorithm, load_algorithm,
                            load_model)
from .prune import (BASELINES, EARLY, PruneOptions, prune_checkpoint,
                    prune_summary)
from .runner_setup import (add_common_args, build_runner, load_config,
                           release_dist, use_validation_split)

__all__ = [
    'add_common_args', 'load_config', 'build_runner', 'release_dist',
    'finetune_config', 'use_validation_split', 'pruned_config',
    'dropped_from_pruned_config', 'is_algorithm', 'classifier_config',
    'load_model', 'load_algorithm', 'prune_checkpoint', 'prune_summary',
    'PruneOptions',
    'BASELINES', 'EARLY'
]
