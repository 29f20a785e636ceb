# Copyright (c) mmfer contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS


@MODELS.register_module()
class FECHead(BaseModule):
    """Expression-embedding head of FEC: a linear projection to a unit vector + triplet loss.

    ``forward`` maps pooled features (N, C) to L2-normalised embeddings (N, D). ``loss``
    takes the embeddings of the three images of every triplet (N, 3, D) and the data samples
    (``gt_label`` = 0-based index of the odd one out, optional ``triplet_type`` metainfo) and
    applies the triplet loss with the two other images as anchor / positive and the odd one
    as negative.

    Args:
        in_channels (int): Feature channels C (512 for ResNet-18). Defaults to 512.
        embed_dim (int): Embedding size D. Defaults to 16.
        loss (dict): Triplet loss config. Defaults to ``FECTripletLoss``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 512,
                 embed_dim: int = 16,
                 loss: dict = dict(type='FECTripletLoss'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Linear(in_channels, embed_dim)
        self.loss_module = MODELS.build(loss)

    def forward(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """(N, C) features (or a neck's tuple of them) -> (N, D) unit embeddings."""
        feat = feats[-1] if isinstance(feats, (tuple, list)) else feats
        return F.normalize(self.proj(feat.flatten(1)), dim=1)

    def loss(self, embeddings: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Triplet loss of (N, 3, D) embeddings; returns ``dict(loss=...)``."""
        if embeddings.ndim != 3 or embeddings.shape[1] != 3:
            raise ValueError(f'FECHead.loss expects (N, 3, D) triplet embeddings, got '
                             f'{tuple(embeddings.shape)}')
        odd = torch.stack([s.gt_label.reshape(-1)[0] for s in data_samples]).to(
            embeddings.device)
        rows = torch.arange(embeddings.shape[0], device=embeddings.device)
        # the two non-odd positions in increasing order: odd 0 -> (1, 2), 1 -> (0, 2), 2 -> (0, 1)
        first = torch.where(odd == 0, 1, 0)
        second = torch.where(odd == 2, 1, 2)
        types = [s.metainfo.get('triplet_type') for s in data_samples]
        types = None if any(t is None for t in types) else types
        return dict(loss=self.loss_module(embeddings[rows, first], embeddings[rows, second],
                                          embeddings[rows, odd], types))
