"""Losses of the baselines (CDS's supervised contrastive loss)."""
from .supcon_loss import SupConLoss, supcon_loss

__all__ = ['SupConLoss', 'supcon_loss']
