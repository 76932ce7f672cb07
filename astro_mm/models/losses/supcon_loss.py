"""Supervised contrastive loss (SupCon; Khosla et al., NeurIPS 2020).

Used by CDS (Contrastive Deep Supervision, ECCV 2022) on the embeddings of
every stage's projection head. With two augmented views of N images the
loss sees 2N embeddings: for each anchor, every other embedding with the
same label (its other view and the other views of its class) is a
positive, and every embedding but the anchor itself is in the denominator.
This is Khosla et al.'s L^sup_out (Eq. 2), the better of their two forms.
"""
import torch
from torch import nn

from astro_mm.registry import MODELS


def supcon_loss(embeddings: torch.Tensor,
                labels: torch.Tensor,
                temperature: float = 0.07) -> torch.Tensor:
    """SupCon L^sup_out, averaged over the anchors that have a positive.

    .. math::
        L = \\frac{1}{|A|} \\sum_{i \\in A} \\frac{-1}{|P(i)|}
            \\sum_{p \\in P(i)} \\log
            \\frac{\\exp(z_i \\cdot z_p / \\tau)}
                  {\\sum_{a \\neq i} \\exp(z_i \\cdot z_a / \\tau)}

    Args:
        embeddings (Tensor): (B, D) embeddings, L2-normalized by the caller
            (the projection head), so that z_i . z_p is a cosine.
        labels (Tensor): (B,) integer class labels.
        temperature (float): tau.

    Returns:
        Tensor: the scalar loss; 0 (with a gradient path) when no anchor has
        a positive, e.g. a batch of one view of N distinct classes.

    Raises:
        ValueError: the shapes do not match or tau is not positive.
    """
    if embeddings.dim() != 2:
        raise ValueError('supcon_loss: embeddings must be (B, D), got shape '
                         f'{tuple(embeddings.shape)}')
    if labels.shape != embeddings.shape[:1]:
        raise ValueError(f'supcon_loss: labels must be ({embeddings.size(0)},)'
                         f' like the embeddings, got {tuple(labels.shape)}')
    if temperature <= 0:
        raise ValueError(
            f'supcon_loss: temperature must be > 0, got {temperature}')
    batch = embeddings.size(0)
    self_mask = torch.eye(batch, dtype=torch.bool, device=embeddings.device)
    # float32 similarities: under AMP, exp(1 / 0.07) overflows float16.
    logits = embeddings.float() @ embeddings.float().t() / temperature
    # The anchor is neither its own positive nor in its own denominator.
    logits = logits.masked_fill(self_mask, float('-inf'))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    num_positives = positives.sum(dim=1)
    has_positive = num_positives > 0
    if not bool(has_positive.any()):
        return embeddings.sum() * 0.
    # masked_fill, not a product: log_prob is -inf on the diagonal.
    positive_log_prob = log_prob.masked_fill(~positives, 0.).sum(dim=1)
    mean_log_prob = positive_log_prob[has_positive] / num_positives[
        has_positive]
    return -mean_log_prob.mean()


@MODELS.register_module()
class SupConLoss(nn.Module):
    """Supervised contrastive loss as a module: ``loss_weight * SupCon``.

    Args:
        temperature (float): tau (CDS: 0.07, as Khosla et al.).
        loss_weight (float): Weight of the loss (CDS: 0.1 per stage).
    """

    def __init__(self, temperature: float = 0.07, loss_weight: float = 1.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(
                f'SupConLoss: temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, embeddings: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Weighted SupCon of (B, D) L2-normalized ``embeddings``."""
        return self.loss_weight * supcon_loss(embeddings, labels,
                                              self.temperature)

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, '
                f'loss_weight={self.loss_weight}')
