# Copyright (c) mmfer contributors. All rights reserved.
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models.selfsup import SimSiam
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS
from .contrawarp_base import ContraWarpMixin


@MODELS.register_module()
class ContraWarpSimSiam(ContraWarpMixin, SimSiam):
    """ContraWarping on SimSiam (no momentum network; stop-gradient targets).

    Built on mmpretrain's :class:`SimSiam`: ``z_i = neck(backbone(x_i))`` (projector),
    ``p_i = head.predictor(z_i)``; :class:`ContraWarpLoss` detaches the ``z`` (stop-gradient).
    Use mmpretrain's ``SimSiamHook`` to keep the predictor's lr fixed, as in SimSiam.

    Args:
        backbone (dict): Backbone, e.g. ResNet.
        neck (dict): Projector (``NonLinearNeck``, 3 layers).
        head (dict): ``LatentPredictHead`` holding the predictor.
        contrawarp_loss (dict): Defaults to ``ContraWarpLoss(target_similarity=0.6)``.
        landmark_head (dict, optional): ``LandmarkHeatmapHead``; None disables the branch.
        landmark_loss_weight (float): λ. Defaults to 100 (see :class:`ContraWarpBYOL`).
        use_pipeline_heatmaps (bool): Use the samples' ``heatmaps`` when present.
        pretrained, data_preprocessor, init_cfg: As in :class:`SimSiam`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 contrawarp_loss: dict = dict(type='ContraWarpLoss', target_similarity=0.6),
                 landmark_head: Optional[dict] = None,
                 landmark_loss_weight: float = 100.0,
                 use_pipeline_heatmaps: bool = True,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
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
            data_samples (list[DataSample]): Landmark targets.

        Returns:
            dict[str, Tensor]: ``loss_cont12``, ``loss_cont13`` (+ ``loss_lm1``,
            ``loss_lm3``), ``sim12``, ``sim13``.
        """
        views = self._check_views(inputs)
        feats = [self.backbone(x) for x in views]
        zs = [self.neck(f)[0] for f in feats]
        ps = [self.head.predictor([z])[0] for z in zs]
        losses = self.contrawarp_loss(*ps, *zs)  # z detached inside the loss
        if self.with_landmark_head:
            losses.update(self._landmark_losses(feats[0], feats[2], views[0], data_samples))
        return losses
