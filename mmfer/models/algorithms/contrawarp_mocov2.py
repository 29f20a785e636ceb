# Copyright (c) mmfer contributors. All rights reserved.
from typing import Dict, List

import torch
import torch.nn as nn
from mmpretrain.models.selfsup import MoCo
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS
from ..utils.momentum import momentum_keys
from .contrawarp_mixin import ContraWarpMixin


@MODELS.register_module()
class ContraWarpMoCoV2(ContraWarpMixin, MoCo):
    """ContraWarping on MoCo v2: the warped view's key is an extra, full negative.

    Built on mmpretrain's :class:`MoCo` (the MoCo v2 configs use it with ``MoCoV2Neck``):
    query ``q1 = normalize(neck(backbone(x1)))``, keys ``k2, k3`` from the momentum encoder
    (shuffled BN as in MoCo). InfoNCE (``head``, a ``ContrastiveHead``) with positive
    ``q1·k2`` and negatives ``[q1·k3, q1·queue]``: as in the paper, x3's key is appended to
    the negatives as a full negative (§4.5: "We simply append our x3 feature to the
    dictionary as full negative examples"; no target similarity). Only ``k2`` is enqueued.
    With ``landmark_head`` the online backbone also runs on x3 for the landmark loss
    (:class:`ContraWarpMixin`). The key encoder's decay τ = 1 - m is logged by
    :class:`~mmfer.engine.EMAMomentumLoggerHook`.

    Args:
        backbone, neck, head, queue_len, feat_dim, momentum, pretrained, data_preprocessor,
            init_cfg: As in :class:`MoCo` (``momentum`` is mmpretrain's EMA weight m of the
            online encoder).
        landmark_head, landmark_loss_weight: See :class:`ContraWarpMixin`.
    """

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses and logged values of one batch.

        Args:
            inputs (list[Tensor]): [x1, x2, x3], each (N, 3, H, W).
            data_samples (list[DataSample]): Landmark targets.

        Returns:
            dict[str, Tensor]: ``loss_cont`` (InfoNCE with the extra negative), (+
            ``loss_lm1``, ``loss_lm3``), ``sim12`` = mean q1·k2, ``sim13`` = mean q1·k3.
        """
        x1, x2, x3 = self._check_views(inputs)
        feat1 = self.backbone(x1)
        q = nn.functional.normalize(self.neck(feat1)[0], dim=1)  # (N, D)
        with torch.no_grad():
            self.encoder_k.update_parameters(nn.Sequential(self.backbone, self.neck))
            k2 = momentum_keys(self.encoder_k, x2)
            k3 = momentum_keys(self.encoder_k, x3)
        l_pos = torch.einsum('nc,nc->n', [q, k2]).unsqueeze(-1)  # (N, 1)
        l_warp = torch.einsum('nc,nc->n', [q, k3]).unsqueeze(-1)  # (N, 1): full negative
        l_queue = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])  # (N, K)
        losses = dict(loss_cont=self.head.loss(l_pos, torch.cat([l_warp, l_queue], dim=1)))
        if self.with_landmark_head:
            losses.update(self._landmark_losses(feat1, self.backbone(x3), data_samples))
        self._dequeue_and_enqueue(k2)
        losses['sim12'] = l_pos.detach().mean()
        losses['sim13'] = l_warp.detach().mean()
        return losses
