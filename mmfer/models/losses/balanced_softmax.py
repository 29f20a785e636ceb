# Copyright (c) mmfer contributors. All rights reserved.
"""Balanced Softmax cross-entropy (Ren et al., NeurIPS 2020) for long-tailed FER (AffectNet)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmfer.registry import MODELS


@MODELS.register_module()
class BalancedSoftmaxLoss(nn.Module):
    r"""Cross-entropy on logits shifted by the log class prior: :math:`CE(z + \log n, y)`.

    Training with the training-set class counts ``n`` makes the *unshifted* logits ``z``
    estimate the class posterior under a balanced label distribution, so predictions
    (``argmax z``) are not biased towards the frequent classes (AffectNet's Happy / Neutral).
    The shift is only applied in the loss.

    Args:
        class_counts (Sequence[int]): Training samples per class (all > 0), in class order.
        loss_weight (float): Multiplier. Defaults to 1.0.
    """

    def __init__(self, class_counts: Sequence[float], loss_weight: float = 1.0) -> None:
        super().__init__()
        counts = torch.as_tensor(list(class_counts), dtype=torch.float64)
        if counts.dim() != 1 or len(counts) < 2 or (counts <= 0).any():
            raise ValueError(f'BalancedSoftmaxLoss: class_counts must be >= 2 positive numbers, '
                             f'got {list(class_counts)}')
        self.register_buffer('log_prior', counts.log(), persistent=False)
        self.loss_weight = loss_weight

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                weight: Optional[torch.Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None, **kwargs) -> torch.Tensor:
        """Args:
            cls_score (Tensor): (N, C) logits.
            label (Tensor): (N,) class indices or (N, C) soft targets (mixup / label smoothing).
            weight (Tensor, optional): (N,) sample weights.
            avg_factor (float, optional): Divide the summed loss by this instead of N.
            reduction_override (str, optional): 'none', 'mean' or 'sum'.
        """
        if cls_score.size(-1) != self.log_prior.numel():
            raise ValueError(f'BalancedSoftmaxLoss: {cls_score.size(-1)} logits but '
                             f'{self.log_prior.numel()} class_counts')
        logp = F.log_softmax(cls_score + self.log_prior.to(cls_score), dim=-1)
        if label.dim() == cls_score.dim():
            loss = -(label.to(logp) * logp).sum(dim=-1)
        else:
            loss = F.nll_loss(logp, label.long().view(-1), reduction='none')
        if weight is not None:
            loss = loss * weight.to(loss).view(-1)
        reduction = reduction_override or 'mean'
        if reduction == 'none':
            out = loss
        elif reduction == 'sum':
            out = loss.sum()
        else:
            out = loss.sum() / (avg_factor if avg_factor is not None else max(len(loss), 1))
        return self.loss_weight * out
