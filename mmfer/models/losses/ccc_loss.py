# Copyright (c) mmfer contributors. All rights reserved.
"""Concordance correlation coefficient (CCC) loss for valence/arousal regression."""
from typing import Optional

import torch
import torch.nn as nn

from mmfer.registry import MODELS


def concordance_cc(pred: torch.Tensor, target: torch.Tensor,
                   weight: Optional[torch.Tensor] = None, eps: float = 1e-8) -> torch.Tensor:
    """Lin's concordance correlation coefficient, per column.

    ``CCC = 2 cov(p, t) / (var(p) + var(t) + (mean(p) - mean(t))^2)`` with population
    (biased, ``1/N``) moments, as in the ABAW challenge evaluation code.

    Args:
        pred (Tensor): Predictions, shape (N,) or (N, D).
        target (Tensor): Targets, same shape as ``pred``.
        weight (Tensor, optional): Per-sample (N,) or per-element (N, D) non-negative
            weights; 0 removes an element (e.g. an unannotated ``-5`` value).
        eps (float): Added to the denominator. Defaults to 1e-8.

    Returns:
        Tensor: CCC per column, shape (D,) (a scalar for 1-D inputs).
    """
    if pred.shape != target.shape:
        raise ValueError(f'CCC: pred shape {tuple(pred.shape)} != target shape '
                         f'{tuple(target.shape)}')
    squeeze = pred.dim() == 1
    if squeeze:
        pred, target = pred[:, None], target[:, None]
    if pred.dim() != 2:
        raise ValueError(f'CCC expects (N,) or (N, D) tensors, got {tuple(pred.shape)}')
    pred = pred.float()
    target = target.float()
    if weight is None:
        w = torch.ones_like(pred)
    else:
        w = weight.float()
        if w.dim() == 1:
            w = w[:, None]
        w = w.expand_as(pred)
    total = w.sum(0).clamp(min=eps)
    mean_p = (w * pred).sum(0) / total
    mean_t = (w * target).sum(0) / total
    dp = pred - mean_p
    dt = target - mean_t
    var_p = (w * dp * dp).sum(0) / total
    var_t = (w * dt * dt).sum(0) / total
    cov = (w * dp * dt).sum(0) / total
    ccc = 2 * cov / (var_p + var_t + (mean_p - mean_t)**2 + eps)
    return ccc[0] if squeeze else ccc


@MODELS.register_module()
class CCCLoss(nn.Module):
    """``1 - CCC`` averaged over the target columns (e.g. valence and arousal).

    CCC is a batch statistic: the loss of a batch is not the mean of per-sample losses, so
    use batches of at least a few dozen samples.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        eps (float): Numerical stabiliser of the CCC denominator. Defaults to 1e-8.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-8) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (N,) or (N, D) predictions.
            target (Tensor): Same shape as ``pred``.
            weight (Tensor, optional): (N,) or (N, D) mask/weights of valid elements.

        Returns:
            Tensor: scalar loss ``loss_weight * mean_d(1 - CCC_d)``.
        """
        ccc = concordance_cc(pred, target, weight=weight, eps=self.eps)
        return self.loss_weight * (1.0 - ccc).mean()
