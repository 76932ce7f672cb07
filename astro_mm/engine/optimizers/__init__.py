from .alternating_constructor import AlternatingOptimWrapperConstructor

__all__ = ['AlternatingOptimWrapperConstructor']
