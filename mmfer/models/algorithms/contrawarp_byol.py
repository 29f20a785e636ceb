# Copyright (c) mmfer contributors. All rights reserved.
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmpretrain.models.selfsup import BYOL
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS
from .contrawarp_base import ContraWarpMixin


@MODELS.register_module()
class ContraWarpBYOL(ContraWarpMixin, BYOL):
    """ContraWarping on BYOL: x1~x2 pulled together, x1~x3 pushed down to ``s_t``.

    Built on mmpretrain's :class:`BYOL`: the same online backbone + projector (``neck``),
    predictor (``head.predictor``, a ``LatentPredictHead``) and ``CosineEMA`` target network
    (``base_momentum``, cosine-annealed so that the decay τ = 1 - m goes to 1). For each view
    ``p_i = predictor(neck(backbone(x_i)))`` and ``z_i = target_net(x_i)`` (no gradient); the
    objective is :class:`ContraWarpLoss` on ``(p1, p2, p3, z1, z2, z3)`` plus, with
    ``landmark_head``, ``λ (L_lm1 + L_lm3)`` on the online backbone's last feature map of x1
    and x3. (``head.loss`` — BYOL's cosine loss — is not used.)

    Args:
        backbone (dict): Backbone, e.g. ResNet.
        neck (dict): Projector (``NonLinearNeck``).
        head (dict): ``LatentPredictHead`` holding the predictor.
        contrawarp_loss (dict): The contrastive loss.
            Defaults to ``dict(type='ContraWarpLoss', target_similarity=0.6)``.
        landmark_head (dict, optional): ``LandmarkHeatmapHead`` config; None disables the
            landmark branch.
        landmark_loss_weight (float): λ. Defaults to 100 (``KeypointMSELoss`` is a mean over
            heatmap pixels, ~2e-3 at initialisation for 56x56 maps with sigma 1.5, so λ=100
            makes λ(L_lm1 + L_lm3) a few tenths, the same order as the contrastive terms).
        use_pipeline_heatmaps (bool): Use the data samples' ``heatmaps`` when present;
            False always encodes targets from ``keypoints``. Defaults to True.
        base_momentum (float): CosineEMA start momentum m (τ = 1 - m). Defaults to 0.004.
        pretrained, data_preprocessor, init_cfg: As in :class:`BYOL`.

    Shapes:
        inputs: list of 3 tensors (N, 3, H, W); outputs of :meth:`extract_feat`: the backbone's
        tuple of feature maps, e.g. ((N, 512, H/32, W/32), ) for ResNet-18.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 contrawarp_loss: dict = dict(type='ContraWarpLoss', target_similarity=0.6),
                 landmark_head: Optional[dict] = None,
                 landmark_loss_weight: float = 100.0,
                 use_pipeline_heatmaps: bool = True,
                 base_momentum: float = 0.004,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            base_momentum=base_momentum,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self._init_contrawarp(contrawarp_loss, landmark_head, landmark_loss_weight,
                              use_pipeline_heatmaps)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses and logged values of one batch.

        Args:
            inputs (list[Tensor]): [x1, x2, x3], each (N, 3, H, W).
            data_samples (list[DataSample]): Landmark targets (see
                :mod:`mmfer.models.algorithms.contrawarp_base`).

        Returns:
            dict[str, Tensor]: ``loss_cont12``, ``loss_cont13`` (+ ``loss_lm1``,
            ``loss_lm3`` with the landmark branch), ``sim12``, ``sim13``, ``momentum``.
        """
        views = self._check_views(inputs)
        feats = [self.backbone(x) for x in views]
        preds = [self.head.predictor(self.neck(f))[0] for f in feats]
        with torch.no_grad():
            self.target_net.update_parameters(nn.Sequential(self.backbone, self.neck))
            targets = [self.target_net(x)[0] for x in views]
        losses = self.contrawarp_loss(*preds, *targets)
        if self.with_landmark_head:
            losses.update(self._landmark_losses(feats[0], feats[2], views[0], data_samples))
        losses['momentum'] = preds[0].new_tensor(self._cosine_ema_momentum(self.target_net))
        return losses
