"""Training machinery: Algorithm 1's round hook and optimizers, and the
length-following step schedule of the demo detectors."""
from .hooks import (AlternationHook, ProbabilityHistoryHook,
                    ReplicaConsistencyHook)
from .optimizers import AlternatingOptimWrapperConstructor, AutocastOptimWrapper
from .param_schedulers import ProportionalMultiStepLR

__all__ = [
    'AlternationHook', 'ProbabilityHistoryHook', 'ReplicaConsistencyHook',
    'AlternatingOptimWrapperConstructor', 'AutocastOptimWrapper',
    'ProportionalMultiStepLR'
]
