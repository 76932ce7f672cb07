from .alternating_constructor import AlternatingOptimWrapperConstructor
from .autocast_optim_wrapper import AutocastOptimWrapper

__all__ = ['AlternatingOptimWrapperConstructor', 'AutocastOptimWrapper']
