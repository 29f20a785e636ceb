# Copyright (c) mmfer contributors. All rights reserved.
"""Expression embedding fine-tuned on FEC triplets (ContraWarping Tab. 7, "fine-tuning: Yes")."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS


@MODELS.register_module()
class FECEmbedder(BaseSelfSupervisor):
    """Backbone + neck + linear projection to a small L2-normalised embedding.

    Inputs are FEC triplets packed by :class:`mmfer.datasets.TripletViews` (``inputs`` =
    list of 3 (N, C, H, W) tensors after ``SelfSupDataPreprocessor``); ``gt_label`` is the
    index of the odd one out. The loss (``FECTripletLoss`` by default) uses the two other
    images as anchor/positive and the odd image as negative.

    ``predict`` writes ``pred_embeddings`` (3, D) into each data sample (read by
    :class:`mmfer.evaluation.TripletAccuracy`); ``mode='tensor'`` returns the (N, D)
    embedding of a single batch of images.

    Args:
        backbone (dict): Backbone config (e.g. ResNet-18).
        neck (dict): Pooling neck (e.g. ``GlobalAveragePooling``).
        in_channels (int): Neck output channels (512 for ResNet-18).
        embed_dim (int): Embedding size (FEC paper: 16). Defaults to 16.
        loss (dict): Triplet loss config.
        data_preprocessor (dict, optional): Defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): e.g. ``Pretrained`` weights for the backbone.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 in_channels: int = 512,
                 embed_dim: int = 16,
                 loss: dict = dict(type='FECTripletLoss'),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.proj = nn.Linear(in_channels, embed_dim)
        self.loss_module = MODELS.build(loss)

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images -> (N, D) unit embeddings."""
        feats = self.neck(self.backbone(inputs))
        feat = feats[-1] if isinstance(feats, (tuple, list)) else feats
        return F.normalize(self.proj(feat.flatten(1)), dim=1)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor' and isinstance(inputs, (list, tuple)):
            return [self.embed(x) for x in inputs]
        if mode == 'tensor':
            return self.embed(inputs)
        return super().forward(inputs, data_samples, mode)

    def _triplet_embeddings(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 3:
            raise ValueError('FECEmbedder expects a list of 3 image batches (TripletViews)')
        n = inputs[0].shape[0]
        emb = self.embed(torch.cat(list(inputs)))
        return emb.view(3, n, -1).transpose(0, 1)  # (N, 3, D)

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        emb = self._triplet_embeddings(inputs)
        odd = torch.stack([s.gt_label.reshape(-1)[0] for s in data_samples]).to(emb.device)
        rows = torch.arange(emb.shape[0], device=emb.device)
        # the two non-odd positions in increasing order: odd 0 -> (1, 2), 1 -> (0, 2), 2 -> (0, 1)
        first = torch.where(odd == 0, 1, 0)
        second = torch.where(odd == 2, 1, 2)
        types = [s.metainfo.get('triplet_type') if 'triplet_type' in s.metainfo else None
                 for s in data_samples]
        types = None if any(t is None for t in types) else types
        loss = self.loss_module(emb[rows, first], emb[rows, second], emb[rows, odd], types)
        return dict(loss=loss)

    @torch.no_grad()
    def predict(self, inputs: List[torch.Tensor],
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        emb = self._triplet_embeddings(inputs)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(emb.shape[0])]
        for sample, e in zip(data_samples, emb):
            sample.set_field(e.cpu(), 'pred_embeddings', field_type='data')
            if 'triplet_type' in sample.metainfo:
                sample.set_field(sample.metainfo['triplet_type'], 'triplet_type',
                                 field_type='metainfo')
        return data_samples
