# Copyright (c) mmfer contributors. All rights reserved.
"""Landmark-detection branch of ContraWarping: mmpose's ``HeatmapHead`` on backbone features."""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.codecs import MSRAHeatmap
from mmpose.models.heads import HeatmapHead

from mmfer.registry import MODELS


@MODELS.register_module()
class LandmarkHeatmapHead(HeatmapHead):
    """mmpose :class:`HeatmapHead` (SimpleBaseline: deconvs + 1x1 conv) for 68 face landmarks.

    The head maps the backbone's last feature map (N, C, h0, w0) to heatmaps
    (N, K, h0 * 2^D, w0 * 2^D) for D deconvolution layers (a ResNet on 224x224 inputs:
    7x7 -> 56x56 with the default 3 layers). :meth:`loss_landmarks` compares them with target
    heatmaps with mmpose's ``KeypointMSELoss(use_target_weight=True)``; targets are either given
    (encoded by the data pipeline) or encoded here from keypoints with mmpose's
    :class:`MSRAHeatmap` codec (same ``sigma``), exactly as the pipeline would.

    Args:
        in_channels (int): Channels of the backbone's last feature map (512 for ResNet-18,
            2048 for ResNet-50).
        out_channels (int): Number of landmarks K. Defaults to 68.
        deconv_out_channels (Sequence[int]): Channels of the deconv layers.
            Defaults to (256, 256, 256).
        deconv_kernel_sizes (Sequence[int]): Their kernel sizes. Defaults to (4, 4, 4).
        final_layer (dict): The final conv. Defaults to a 1x1 conv.
        loss (dict): Heatmap loss. Defaults to ``KeypointMSELoss(use_target_weight=True)``.
        sigma (float): Gaussian sigma (heatmap pixels) used to encode targets from keypoints.
            Defaults to 1.5 (the pipeline's MSRAHeatmap setting, 224 -> 56).
        init_cfg (dict, optional): Initialisation; mmpose's default when None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 68,
                 deconv_out_channels: Sequence[int] = (256, 256, 256),
                 deconv_kernel_sizes: Sequence[int] = (4, 4, 4),
                 final_layer: dict = dict(kernel_size=1),
                 loss: dict = dict(type='KeypointMSELoss', use_target_weight=True),
                 sigma: float = 1.5,
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
        self.sigma = float(sigma)

    def encode_heatmaps(self, keypoints: Union[np.ndarray, torch.Tensor],
                        keypoint_weights: Union[np.ndarray, torch.Tensor],
                        input_size: Tuple[int, int], heatmap_size: Tuple[int, int]
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode keypoints into Gaussian heatmaps with mmpose's :class:`MSRAHeatmap`.

        Args:
            keypoints: (N, K, 2) landmarks (x, y) in input pixels.
            keypoint_weights: (N, K) weights; a landmark with weight 0 gets no Gaussian.
            input_size (tuple): (W, H) of the network input.
            heatmap_size (tuple): (w, h) of the heatmaps.

        Returns:
            tuple[Tensor, Tensor]: heatmaps (N, K, h, w) float32 and weights (N, K): the
            given weights, zeroed for landmarks whose Gaussian falls outside the heatmap.
        """
        kpts = torch.as_tensor(keypoints).detach().cpu().float().numpy()
        weights = torch.as_tensor(keypoint_weights).detach().cpu().float().numpy()
        codec = MSRAHeatmap(input_size=tuple(input_size), heatmap_size=tuple(heatmap_size),
                            sigma=self.sigma)
        n, k = kpts.shape[:2]
        w, h = heatmap_size
        heatmaps = np.zeros((n, k, h, w), dtype=np.float32)
        out_weights = weights.copy()
        for i in range(n):
            if not (weights[i] > 0).any():
                continue
            visible = (weights[i] > 0).astype(np.float32)[None]
            enc = codec.encode(kpts[i][None], visible)
            heatmaps[i] = enc['heatmaps']
            out_weights[i] = weights[i] * enc['keypoint_weights'][0]
        return torch.from_numpy(heatmaps), torch.from_numpy(out_weights)

    def loss_landmarks(self, feats: Union[torch.Tensor, Tuple[torch.Tensor, ...]],
                       keypoint_weights: torch.Tensor,
                       heatmaps: Optional[torch.Tensor] = None,
                       keypoints: Optional[torch.Tensor] = None,
                       input_size: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """Heatmap loss of one view.

        Args:
            feats (Tensor | tuple[Tensor]): Backbone output; the last map (N, C, h0, w0)
                is used.
            keypoint_weights (Tensor): (N, K) target weights (e.g. 1.0 moved / 0.1 unmoved
                landmarks, 0 for images without landmarks).
            heatmaps (Tensor, optional): (N, K, h, w) targets; must match the predicted size.
            keypoints (Tensor, optional): (N, K, 2) landmarks in input pixels, encoded here
                when ``heatmaps`` is None.
            input_size (tuple, optional): (W, H) of the input images; needed with
                ``keypoints``.

        Returns:
            Tensor: the scalar ``KeypointMSELoss`` (before the algorithm's weight).
        """
        if isinstance(feats, torch.Tensor):
            feats = (feats, )
        pred = self.forward(tuple(feats))  # (N, K, h, w)
        n, k, h, w = pred.shape
        keypoint_weights = keypoint_weights.to(pred)
        if tuple(keypoint_weights.shape) != (n, k):
            raise ValueError(f'{type(self).__name__}: keypoint_weights must be ({n}, {k}), '
                             f'got {tuple(keypoint_weights.shape)}')
        if heatmaps is None:
            if keypoints is None or input_size is None:
                raise ValueError(f'{type(self).__name__}.loss_landmarks needs heatmaps, or '
                                 'keypoints and input_size to encode them')
            if tuple(keypoints.shape) != (n, k, 2):
                raise ValueError(f'{type(self).__name__}: keypoints must be ({n}, {k}, 2), '
                                 f'got {tuple(keypoints.shape)}')
            heatmaps, keypoint_weights = self.encode_heatmaps(
                keypoints, keypoint_weights, input_size, (w, h))
        heatmaps = heatmaps.to(pred)
        keypoint_weights = keypoint_weights.to(pred)
        if tuple(heatmaps.shape) != (n, k, h, w):
            raise ValueError(
                f'{type(self).__name__}: target heatmaps are {tuple(heatmaps.shape)} but the '
                f'head predicts {(n, k, h, w)} from a {tuple(feats[-1].shape[-2:])} feature '
                'map; set the pipeline codec heatmap_size to the predicted size (input / 4 for '
                'a stride-32 backbone with 3 deconvs) or set use_pipeline_heatmaps=False in '
                'the model to encode them from the keypoints')
        return self.loss_module(pred, heatmaps, keypoint_weights)
