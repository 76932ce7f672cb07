from .all_ranks_loss_hook import AllRanksLossHook
from .alternation_hook import AlternationHook
from .early_pruning_hook import EarlyPruningHook
from .probability_history_hook import (ProbabilityHistoryHook,
                                       load_probability_history)
from .replica_consistency_hook import ReplicaConsistencyHook
from .sparse_training_hook import SparseTrainingHook

__all__ = [
    'AllRanksLossHook', 'AlternationHook', 'EarlyPruningHook',
    'ProbabilityHistoryHook',
    'ReplicaConsistencyHook', 'SparseTrainingHook',
    'load_probability_history'
]
