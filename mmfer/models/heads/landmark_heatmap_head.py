# Copyright (c) mmfer contributors. All rights reserved.
"""Landmark-detection branch of ContraWarping: mmpose's ``HeatmapHead`` on backbone features."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmpose.models.heads import HeatmapHead

from mmfer.registry import MODELS


@MODELS.register_module()
class LandmarkHeatmapHead(HeatmapHead):
    """mmpose :class:`HeatmapHead` (SimpleBaseline: deconvs + 1x1 conv) for 68 face landmarks.

    The head maps the backbone's last feature map (N, C, h0, w0) to heatmaps
    (N, K, h0 * 2^D, w0 * 2^D) for D deconvolution layers (a ResNet on 224x224 inputs:
    7x7 -> 56x56 with the default 3 layers). As mmpose's ``HeatmapHead.loss`` it only *reads*
    the targets, which the data pipeline encodes (``ContraWarpViews`` with an ``MSRAHeatmap``
    codec): each data sample carries ``heatmaps`` (2, K, h, w) and ``keypoint_weights``
    (2, K) for x1 and x3.

    **Eq. (5).** The paper's landmark loss is ``1/n Σ_i MSE(w_i pred_i, w_i pseudo_i)``, i.e.
    ``w_i²`` times landmark i's squared error (1 for moved, 0.01 for unmoved landmarks with the
    weights 1 / 0.1 of §3.3), whereas mmpose's ``KeypointMSELoss(use_target_weight=True)``
    multiplies by ``w_i``. With ``weight_squared=True`` (the default) the head hands ``w²`` to
    the loss, which then computes Eq. (5) exactly (the mean over samples, landmarks and heatmap
    pixels of ``w² (pred - target)²``); ``False`` gives mmpose's linear weighting.

    Args:
        in_channels (int): Channels of the backbone's last feature map (512 for ResNet-18,
            2048 for ResNet-50).
        out_channels (int): Number of landmarks K. Defaults to 68.
        deconv_out_channels (Sequence[int]): Channels of the deconv layers.
            Defaults to (256, 256, 256).
        deconv_kernel_sizes (Sequence[int]): Their kernel sizes. Defaults to (4, 4, 4).
        final_layer (dict): The final conv. Defaults to a 1x1 conv.
        loss (dict): Heatmap loss, called with per-landmark weights. Defaults to
            ``KeypointMSELoss(use_target_weight=True)``.
        weight_squared (bool): Square the landmark weights (Eq. (5)). Defaults to True.
        init_cfg (dict, optional): Initialisation; mmpose's default when None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 68,
                 deconv_out_channels: Sequence[int] = (256, 256, 256),
                 deconv_kernel_sizes: Sequence[int] = (4, 4, 4),
                 final_layer: dict = dict(kernel_size=1),
                 loss: dict = dict(type='KeypointMSELoss', use_target_weight=True),
                 weight_squared: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            final_layer=final_layer,
            loss=loss,
            decoder=None,
            init_cfg=init_cfg)
        self.weight_squared = bool(weight_squared)

    def heatmap_loss(self, pred: torch.Tensor, heatmaps: torch.Tensor,
                     keypoint_weights: torch.Tensor) -> torch.Tensor:
        """Eq. (5) (or mmpose's linear weighting) on predicted and target heatmaps.

        Args:
            pred (Tensor): (N, K, h, w) predicted heatmaps.
            heatmaps (Tensor): (N, K, h, w) target heatmaps.
            keypoint_weights (Tensor): (N, K) landmark weights ``w`` (e.g. 1.0 moved / 0.1
                unmoved, 0 for images or landmarks without a target).

        Returns:
            Tensor: The scalar loss (before the algorithm's weight λ).
        """
        weights = keypoint_weights.to(pred)
        if self.weight_squared:
            weights = weights * weights
        return self.loss_module(pred, heatmaps.to(pred), weights)

    def loss(self, feats: Union[torch.Tensor, Tuple[torch.Tensor, ...]],
             data_samples: Sequence, view: int = 0) -> torch.Tensor:
        """The landmark loss of one view from the targets the pipeline encoded.

        Args:
            feats (Tensor | tuple[Tensor]): Backbone output; the last map (N, C, h0, w0)
                is used.
            data_samples (Sequence[DataSample]): N samples with ``heatmaps`` (V, K, h, w) and
                ``keypoint_weights`` (V, K) (V = 2 for x1, x3).
            view (int): Which target view: 0 for x1, 1 for x3. Defaults to 0.

        Returns:
            Tensor: The scalar :meth:`heatmap_loss`.
        """
        name = type(self).__name__
        if isinstance(feats, torch.Tensor):
            feats = (feats, )
        pred = self.forward(tuple(feats))  # (N, K, h, w)
        n, k, h, w = pred.shape
        if data_samples is None or len(data_samples) != n:
            raise ValueError(f'{name}: needs one data sample per image ({n}), got '
                             f'{None if data_samples is None else len(data_samples)}')
        heatmaps, weights = [], []
        for i, ds in enumerate(data_samples):
            for key in ('heatmaps', 'keypoint_weights'):
                if key not in ds:
                    raise KeyError(
                        f"{name}: data sample {i} has no {key!r}; the landmark branch reads "
                        'targets encoded by the pipeline (ContraWarpViews with a codec, then '
                        'PackContraWarpInputs), or set model.landmark_head=None')
            heatmaps.append(torch.as_tensor(ds.heatmaps)[view])
            weights.append(torch.as_tensor(ds.keypoint_weights)[view])
        heatmaps = torch.stack(heatmaps).to(pred)
        weights = torch.stack(weights).to(pred)
        if tuple(heatmaps.shape) != (n, k, h, w) or tuple(weights.shape) != (n, k):
            raise ValueError(
                f'{name}: target heatmaps are {tuple(heatmaps.shape)} and keypoint_weights '
                f'{tuple(weights.shape)}, but the head predicts {(n, k, h, w)} from a '
                f'{tuple(feats[-1].shape[-2:])} feature map; set the pipeline codec\'s '
                'heatmap_size to the predicted size (input / 4 for a stride-32 backbone with 3 '
                'deconvs) and its keypoints to the head\'s out_channels')
        return self.heatmap_loss(pred, heatmaps, weights)
