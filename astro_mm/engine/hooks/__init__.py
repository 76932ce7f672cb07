from .alternation_hook import AlternationHook
from .replica_consistency_hook import ReplicaConsistencyHook

__all__ = ['AlternationHook', 'ReplicaConsistencyHook']
