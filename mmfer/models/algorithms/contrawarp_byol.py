# Copyright (c) mmfer contributors. All rights reserved.
from typing import Dict, List

import torch
import torch.nn as nn
from mmpretrain.models.selfsup import BYOL
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS
from .contrawarp_mixin import ContraWarpMixin


@MODELS.register_module()
class ContraWarpBYOL(ContraWarpMixin, BYOL):
    """ContraWarping on BYOL: x1~x2 pulled together, x1~x3 pushed down to ``s_t``.

    mmpretrain's :class:`BYOL` with a third view: the online backbone + projector (``neck``)
    give ``z_i`` for x1, x2, x3, the ``CosineEMA`` target network (``base_momentum``) gives the
    targets, and the head (:class:`~mmfer.models.ContraWarpHead`: predictor +
    :class:`~mmfer.models.ContraWarpLoss`) computes Eqs. (2)-(4). With ``landmark_head``,
    ``λ (L_lm1 + L_lm3)`` (Eq. (5)) is added on the online backbone's last feature map of x1
    and x3 (:class:`ContraWarpMixin`). The target network's decay is logged by
    :class:`~mmfer.engine.EMAMomentumLoggerHook`.

    Args:
        backbone, neck, head, base_momentum, pretrained, data_preprocessor, init_cfg: As in
            :class:`BYOL`; ``head`` is a ``ContraWarpHead``.
        landmark_head, landmark_loss_weight: See :class:`ContraWarpMixin`.

    Shapes:
        inputs: list of 3 tensors (N, 3, H, W); outputs of :meth:`extract_feat`: the backbone's
        tuple of feature maps, e.g. ((N, 512, H/32, W/32), ) for ResNet-18.
    """

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses and logged values of one batch.

        Args:
            inputs (list[Tensor]): [x1, x2, x3], each (N, 3, H, W).
            data_samples (list[DataSample]): Landmark targets (see
                :mod:`mmfer.models.algorithms.contrawarp_mixin`).

        Returns:
            dict[str, Tensor]: ``loss_cont12``, ``loss_cont13`` (+ ``loss_lm1``, ``loss_lm3``
            with the landmark branch), ``sim12``, ``sim13``.
        """
        views = self._check_views(inputs)
        feats = [self.backbone(x) for x in views]
        projs = [self.neck(f)[0] for f in feats]
        with torch.no_grad():
            self.target_net.update_parameters(nn.Sequential(self.backbone, self.neck))
            targets = [self.target_net(x)[0] for x in views]
        losses = self.head.loss(projs, targets)
        losses.update(self._landmark_losses(feats[0], feats[2], data_samples))
        return losses
