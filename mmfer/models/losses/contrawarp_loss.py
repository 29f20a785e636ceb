# Copyright (c) mmfer contributors. All rights reserved.
"""The ContraWarping objective (Xue, Sun, Yang, 2023).

Three views of a face: ``x1``, ``x2`` (an ordinary augmentation of the same image) and ``x3``
(a *local warp* of ``x1`` that changes the expression but keeps the identity and the
augmentation). ``x1``/``x2`` are pulled together as in BYOL/SimSiam, while ``x1``/``x3`` are
pushed apart, but only down to a target similarity ``s_t``: a warped face is still partly the
same face, so the loss stops pushing once the pair is as dissimilar as ``s_t``.
"""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmfer.registry import MODELS


def symmetric_similarity(p_i: torch.Tensor, p_j: torch.Tensor, z_i: torch.Tensor,
                         z_j: torch.Tensor) -> torch.Tensor:
    """Per-sample ``sim(i, j) = 1/2 (p̂_i · ẑ_j + p̂_j · ẑ_i)`` (hats: L2-normalised).

    Args:
        p_i (Tensor): (N, D) predictions of view i.
        p_j (Tensor): (N, D) predictions of view j.
        z_i (Tensor): (N, D) targets of view i (used as given; detach them beforehand).
        z_j (Tensor): (N, D) targets of view j.

    Returns:
        Tensor: (N,) similarities in [-1, 1].
    """
    p_i, p_j = F.normalize(p_i, dim=1), F.normalize(p_j, dim=1)
    z_i, z_j = F.normalize(z_i, dim=1), F.normalize(z_j, dim=1)
    return 0.5 * ((p_i * z_j).sum(dim=1) + (p_j * z_i).sum(dim=1))


@MODELS.register_module()
class ContraWarpLoss(nn.Module):
    """Contrastive-warping loss on predictions ``p`` and (stop-gradient) targets ``z``.

    With ``sim(i, j)`` from :func:`symmetric_similarity`:

    - ``loss_cont12 = -w12 * mean_n sim(1, 2)``;
    - ``loss_cont13 = w13 * mean_n max(sim(1, 3), s_t)`` (a per-sample hinge: a pair whose
      similarity is already below ``s_t`` gets no gradient, so the batch mean of
      ``sim(1, 3)`` settles a little *below* ``s_t``).

    The targets are detached inside the loss, so no gradient ever reaches ``z``: for BYOL
    they come from the momentum network, for SimSiam from the online network itself
    (stop-gradient).

    Args:
        target_similarity (float): ``s_t`` in [-1, 1]. Defaults to 0.6 (the paper's value).
        loss_weight_12 (float): Weight of ``loss_cont12``. Defaults to 1.0.
        loss_weight_13 (float): Weight of ``loss_cont13``. Defaults to 1.0.
    """

    def __init__(self, target_similarity: float = 0.6, loss_weight_12: float = 1.0,
                 loss_weight_13: float = 1.0) -> None:
        super().__init__()
        if not -1.0 <= float(target_similarity) <= 1.0:
            raise ValueError(f'ContraWarpLoss: target_similarity must be in [-1, 1], '
                             f'got {target_similarity}')
        self.target_similarity = float(target_similarity)
        self.loss_weight_12 = float(loss_weight_12)
        self.loss_weight_13 = float(loss_weight_13)

    def forward(self, p1: torch.Tensor, p2: torch.Tensor, p3: torch.Tensor,
                z1: torch.Tensor, z2: torch.Tensor, z3: torch.Tensor
                ) -> Dict[str, torch.Tensor]:
        """Compute the two loss terms and the (detached) similarities for logging.

        Args:
            p1, p2, p3 (Tensor): (N, D) predictions of the views x1, x2, x3.
            z1, z2, z3 (Tensor): (N, D) targets of the views (detached here).

        Returns:
            dict[str, Tensor]: ``loss_cont12``, ``loss_cont13`` (scalars with gradients to
            ``p``) and ``sim12``, ``sim13`` (detached batch means).
        """
        shapes = [tuple(t.shape) for t in (p1, p2, p3, z1, z2, z3)]
        if len(set(shapes)) != 1 or len(shapes[0]) != 2:
            raise ValueError('ContraWarpLoss expects six (N, D) tensors of the same shape, '
                             f'got p1, p2, p3, z1, z2, z3 = {shapes}')
        z1, z2, z3 = z1.detach(), z2.detach(), z3.detach()
        sim12 = symmetric_similarity(p1, p2, z1, z2)
        sim13 = symmetric_similarity(p1, p3, z1, z3)
        loss12 = -sim12.mean()
        loss13 = torch.clamp(sim13, min=self.target_similarity).mean()
        return dict(
            loss_cont12=self.loss_weight_12 * loss12,
            loss_cont13=self.loss_weight_13 * loss13,
            sim12=sim12.detach().mean(),
            sim13=sim13.detach().mean())

    def extra_repr(self) -> str:
        return (f'target_similarity={self.target_similarity}, '
                f'loss_weight_12={self.loss_weight_12}, '
                f'loss_weight_13={self.loss_weight_13}')
