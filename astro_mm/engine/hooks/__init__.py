from .alternation_hook import AlternationHook
from .probability_history_hook import (ProbabilityHistoryHook,
                                       load_probability_history)
from .replica_consistency_hook import ReplicaConsistencyHook

__all__ = [
    'AlternationHook', 'ProbabilityHistoryHook', 'ReplicaConsistencyHook',
    'load_probability_history'
]
