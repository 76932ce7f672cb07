"""Training machinery of Algorithm 1: the round hook and the optimizers."""
from .hooks import (AlternationHook, ProbabilityHistoryHook,
                    ReplicaConsistencyHook)
from .optimizers import AlternatingOptimWrapperConstructor, AutocastOptimWrapper

__all__ = [
    'AlternationHook', 'ProbabilityHistoryHook', 'ReplicaConsistencyHook',
    'AlternatingOptimWrapperConstructor', 'AutocastOptimWrapper'
]
