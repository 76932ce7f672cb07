"""Classifiers: the CDS baseline (contrastive deep supervision)."""
from .cds import CDSImageClassifier

__all__ = ['CDSImageClassifier']
