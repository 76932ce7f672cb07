"""Data preprocessors (multi-view batches for contrastive baselines)."""
from .multi_view_cls import MultiViewClsDataPreprocessor

__all__ = ['MultiViewClsDataPreprocessor']
