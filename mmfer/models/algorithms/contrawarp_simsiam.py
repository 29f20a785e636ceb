# Copyright (c) mmfer contributors. All rights reserved.
from typing import Dict, List

import torch
from mmpretrain.models.selfsup import SimSiam
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS
from .contrawarp_mixin import ContraWarpMixin


@MODELS.register_module()
class ContraWarpSimSiam(ContraWarpMixin, SimSiam):
    """ContraWarping on SimSiam (no momentum network; stop-gradient targets).

    mmpretrain's :class:`SimSiam` with a third view: ``z_i = neck(backbone(x_i))`` for x1, x2,
    x3; the head (:class:`~mmfer.models.ContraWarpHead`) predicts ``p_i`` and computes
    Eqs. (2)-(4) with the ``z_i`` themselves as (detached) targets. With ``landmark_head``,
    ``λ (L_lm1 + L_lm3)`` is added (:class:`ContraWarpMixin`). Use mmpretrain's
    ``SimSiamHook`` to keep the predictor's lr fixed, as in SimSiam.

    Args:
        backbone, neck, head, pretrained, data_preprocessor, init_cfg: As in
            :class:`SimSiam`; ``head`` is a ``ContraWarpHead``.
        landmark_head, landmark_loss_weight: See :class:`ContraWarpMixin`.
    """

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses and logged values of one batch.

        Args:
            inputs (list[Tensor]): [x1, x2, x3], each (N, 3, H, W).
            data_samples (list[DataSample]): Landmark targets.

        Returns:
            dict[str, Tensor]: ``loss_cont12``, ``loss_cont13`` (+ ``loss_lm1``,
            ``loss_lm3``), ``sim12``, ``sim13``.
        """
        views = self._check_views(inputs)
        feats = [self.backbone(x) for x in views]
        zs = [self.neck(f)[0] for f in feats]
        losses = self.head.loss(zs, zs)  # the targets are detached in the head
        losses.update(self._landmark_losses(feats[0], feats[2], data_samples))
        return losses
