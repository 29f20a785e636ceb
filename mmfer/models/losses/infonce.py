# Copyright (c) mmfer contributors. All rights reserved.
"""InfoNCE on a similarity matrix with explicit positive / negative masks.

One function covers SimCLR's NT-Xent, the SSL-FER variants (hard negatives added to the
negatives, false negatives removed from them) and the MaskFN term ``L2`` where mined false
negatives play the positive's role.
"""
from typing import Optional

import torch
from torch import nn

from mmfer.registry import MODELS


def info_nce(sim: torch.Tensor, pos_mask: torch.Tensor, neg_mask: torch.Tensor,
             temperature: float = 0.07, reduction: str = 'mean') -> torch.Tensor:
    r"""InfoNCE with any number of positives per row, each contrasted against the row's negatives.

    For a row ``r`` with positive columns :math:`P(r)` and negative columns :math:`N(r)`:

    .. math::
        \ell_r = \frac{1}{|P(r)|} \sum_{p \in P(r)} -\log
        \frac{e^{s_{rp}/\tau}}{e^{s_{rp}/\tau} + \sum_{n \in N(r)} e^{s_{rn}/\tau}}

    i.e. every positive is its own cross-entropy term against the same negatives (the other
    positives are not in its denominator). With exactly one positive per row and ``N(r)`` =
    every other column this is SimCLR's NT-Xent. Rows without a positive are ignored.

    Args:
        sim (Tensor): (R, C) similarities (cosine for SimCLR).
        pos_mask (Tensor): (R, C) bool, positives of each row.
        neg_mask (Tensor): (R, C) bool, negatives of each row; must not overlap ``pos_mask``.
        temperature (float): τ. Defaults to 0.07.
        reduction (str): ``'mean'`` over rows with at least one positive, ``'sum'`` or
            ``'none'`` (returns (R,) with zeros for rows without positives).

    Returns:
        Tensor: scalar loss (or (R,) for ``reduction='none'``).
    """
    if sim.dim() != 2 or sim.shape != pos_mask.shape or sim.shape != neg_mask.shape:
        raise ValueError(f'info_nce: sim {tuple(sim.shape)}, pos_mask {tuple(pos_mask.shape)} '
                         f'and neg_mask {tuple(neg_mask.shape)} must be the same (R, C) shape')
    if temperature <= 0:
        raise ValueError(f'info_nce: temperature must be > 0, got {temperature}')
    pos_mask = pos_mask.bool()
    neg_mask = neg_mask.bool()
    if (pos_mask & neg_mask).any():
        raise ValueError('info_nce: a column is both a positive and a negative of the same row')
    logits = sim / temperature
    neg_inf = torch.finfo(logits.dtype).min
    lse_neg = torch.logsumexp(logits.masked_fill(~neg_mask, neg_inf), dim=1, keepdim=True)
    # rows without negatives: the masked logsumexp is ~min-float, logaddexp(l, that) == l.
    pair_loss = torch.logaddexp(logits, lse_neg) - logits  # -log softmax of each positive
    num_pos = pos_mask.sum(dim=1)
    row_loss = (pair_loss * pos_mask).sum(dim=1) / num_pos.clamp_min(1)
    if reduction == 'none':
        return row_loss
    has_pos = num_pos > 0
    if reduction == 'sum':
        return row_loss[has_pos].sum()
    if reduction != 'mean':
        raise ValueError(f"info_nce: reduction must be 'mean', 'sum' or 'none', got {reduction}")
    if not has_pos.any():
        return sim.sum() * 0.
    return row_loss[has_pos].mean()


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """Module form of :func:`info_nce`.

    Args:
        temperature (float): τ. Defaults to 0.07 (SSL-FER).
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, temperature: float = 0.07, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, sim: torch.Tensor, pos_mask: torch.Tensor,
                neg_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            sim (Tensor): (R, C) similarities.
            pos_mask (Tensor): (R, C) bool.
            neg_mask (Tensor, optional): (R, C) bool; defaults to every column that is not a
                positive.
        """
        if neg_mask is None:
            neg_mask = ~pos_mask.bool()
        return self.loss_weight * info_nce(sim, pos_mask, neg_mask, self.temperature)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, loss_weight={self.loss_weight}'
