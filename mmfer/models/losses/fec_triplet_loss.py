# Copyright (c) mmfer contributors. All rights reserved.
"""Triplet loss of the FEC paper (Vemulapalli & Agarwala, CVPR 2019, Eq. 1)."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from mmfer.registry import MODELS


@MODELS.register_module()
class FECTripletLoss(nn.Module):
    """Symmetric triplet margin loss on (anchor, positive, negative) embeddings.

    For the most similar pair (a, p) and the odd one out n::

        l = max(0, |a-p|^2 - |a-n|^2 + m) + max(0, |a-p|^2 - |p-n|^2 + m)

    with squared Euclidean distances (``squared=True``; ``torch.nn.TripletMarginLoss``
    semantics with p=2 when False) and a margin ``m`` per triplet type (FEC: 0.1 for
    one-class triplets, 0.2 for two- and three-class triplets).

    Args:
        margins (dict): Margin per triplet type; ``default`` for unknown/missing types.
        squared (bool): Squared distances (paper) or plain L2. Defaults to True.
        loss_weight (float): Multiplier. Defaults to 1.0.
    """

    def __init__(self,
                 margins: Optional[Dict[str, float]] = None,
                 squared: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.margins = dict(default=0.2, one_class=0.1, two_class=0.2, three_class=0.2)
        self.margins.update(margins or {})
        self.squared = squared
        self.loss_weight = loss_weight

    def _dist(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d = (x - y).pow(2).sum(-1)
        return d if self.squared else (d + 1e-12).sqrt()

    def forward(self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                triplet_types: Optional[Sequence[str]] = None) -> torch.Tensor:
        """Mean loss over the batch.

        Args:
            anchor, positive, negative (Tensor): (N, D) embeddings.
            triplet_types (Sequence[str], optional): N type names for the margins.
        """
        if not anchor.shape == positive.shape == negative.shape:
            raise ValueError('FECTripletLoss: anchor, positive and negative shapes differ: '
                             f'{tuple(anchor.shape)}, {tuple(positive.shape)}, '
                             f'{tuple(negative.shape)}')
        if triplet_types is None:
            margin = anchor.new_full((anchor.shape[0], ), self.margins['default'])
        else:
            margin = anchor.new_tensor([self.margins.get(t, self.margins['default'])
                                        for t in triplet_types])
        d_ap = self._dist(anchor, positive)
        loss = (d_ap - self._dist(anchor, negative) + margin).clamp(min=0) + \
            (d_ap - self._dist(positive, negative) + margin).clamp(min=0)
        return self.loss_weight * loss.mean()
