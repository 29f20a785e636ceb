# Copyright (c) mmfer contributors. All rights reserved.
"""Expression embedding fine-tuned on FEC triplets (ContraWarping Tab. 7, "fine-tuning: Yes")."""
from typing import Dict, List, Optional

import torch
from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS


@MODELS.register_module()
class FECEmbedder(BaseSelfSupervisor):
    """Backbone -> neck -> :class:`mmfer.models.heads.FECHead` (projection to a unit
    embedding; the head owns the triplet loss).

    Inputs of ``loss`` / ``predict`` are FEC triplets packed by
    :class:`mmfer.datasets.TripletViews` (``inputs`` = list of 3 (N, C, H, W) tensors after
    ``SelfSupDataPreprocessor``); ``gt_label`` is the index of the odd one out.

    - :meth:`extract_feat` (``mode='tensor'``): (N, C, H, W) images -> (N, D) unit
      embeddings (the feature of this model, also for ``FrozenFeatureTestLoop``);
    - ``mode='loss'``: the head's triplet loss on the (N, 3, D) embeddings;
    - ``mode='predict'``: writes ``pred_embeddings`` (3, D) into each data sample (read by
      :class:`mmfer.evaluation.TripletAccuracy`).

    Args: those of mmpretrain's ``BaseSelfSupervisor`` (``backbone``, ``neck``, ``head``,
    ``data_preprocessor``, ``init_cfg``).
    """

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(inputs)))

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'predict':  # BaseSelfSupervisor knows 'tensor' and 'loss' only
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def _triplet_embeddings(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 3:
            raise ValueError('FECEmbedder expects a list of 3 image batches (TripletViews)')
        n = inputs[0].shape[0]
        emb = self.extract_feat(torch.cat(list(inputs)))
        return emb.view(3, n, -1).transpose(0, 1)  # (N, 3, D)

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        return self.head.loss(self._triplet_embeddings(inputs), data_samples)

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
