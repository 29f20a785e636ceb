# Copyright (c) mmfer contributors. All rights reserved.
"""Intra-class normalisation of EmoCo (Sun, Zeng, Shan, FG 2021)."""
import torch
import torch.nn.functional as F


def intra_class_normalize(x: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor,
                          eps: float = 1e-12) -> torch.Tensor:
    r"""EmoCo's intra-class normalisation :math:`N(v) = (v - \tilde w_y) / \|v - \tilde w_y\|`.

    :math:`\tilde w_y = w_y / \|w_y\|` is the L2-normalised row ``y`` of the emotion
    classifier's weight, i.e. the direction of class ``y``'s centre on the unit sphere.
    Subtracting it removes what all embeddings of an emotion share, so that the contrastive
    loss among samples of one class works on the within-class (AU) variation; the result is
    re-projected on the unit sphere.

    Args:
        x (Tensor): (N, D) embeddings (q, k+ or queued negatives).
        weight (Tensor): (C, D) classifier weight, *not* normalised (it is normalised here);
            gradients flow into it.
        labels (Tensor): (N,) int64 class of each row of ``x`` (the class whose centre is
            removed).
        eps (float): Lower bound of the norm. Defaults to 1e-12.

    Returns:
        Tensor: (N, D) unit-norm rows.
    """
    if x.dim() != 2 or weight.dim() != 2 or x.size(1) != weight.size(1):
        raise ValueError(f'intra_class_normalize: x must be (N, D) and weight (C, D) with the '
                         f'same D, got {tuple(x.shape)} and {tuple(weight.shape)}')
    labels = torch.as_tensor(labels, device=x.device).long().view(-1)
    if labels.numel() != x.size(0):
        raise ValueError(f'intra_class_normalize: {labels.numel()} labels for {x.size(0)} rows')
    if labels.numel() and (labels.min() < 0 or labels.max() >= weight.size(0)):
        raise ValueError(f'intra_class_normalize: labels must be in [0, {weight.size(0)}), got '
                         f'[{int(labels.min())}, {int(labels.max())}]')
    centres = F.normalize(weight, dim=1, eps=eps)[labels]
    return F.normalize(x - centres, dim=1, eps=eps)
