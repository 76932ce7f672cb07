from .alternating import AlternatingAlgorithm, assign_groups

__all__ = ['AlternatingAlgorithm', 'assign_groups']
