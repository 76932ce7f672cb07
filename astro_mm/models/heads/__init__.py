"""Auxiliary heads used during training only (CDS's projection heads)."""
from .cds_projection_head import CDSProjectionHead

__all__ = ['CDSProjectionHead']
