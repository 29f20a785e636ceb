# Copyright (c) mmfer contributors. All rights reserved.
"""What the ContraWarping algorithms (BYOL / SimSiam / MoCo v2 variants) add to their parents.

Batch format (from ``ContraWarpViews`` + ``PackContraWarpInputs`` through mmpretrain's
``SelfSupDataPreprocessor``):

- ``inputs``: list of 3 tensors (N, 3, H, W): ``[x1, x2, x3]``, x3 being the local warp of x1;
- ``data_samples``: N mmpretrain ``DataSample`` with

  - ``keypoints`` (2, K, 2): x1's and x3's landmarks in input pixels,
  - ``keypoint_weights`` (2, K): 1.0 for moved / 0.1 for unmoved landmarks, all zeros when the
    image has no landmarks,
  - ``heatmaps`` (2, K, h, w): the MSRAHeatmap targets of x1 and x3, encoded by the pipeline
    (needed by the landmark branch only),
  - ``has_landmarks`` (bool).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmfer.registry import MODELS

NUM_VIEWS = 3


class ContraWarpMixin:
    """The landmark branch (LD) and the three-view check of the ContraWarping algorithms.

    A cooperative mixin placed before an mmpretrain algorithm, e.g.
    ``class ContraWarpBYOL(ContraWarpMixin, BYOL)``: it takes its two arguments and passes
    every other one to the parent, so the subclass needs no ``__init__`` of its own.

    Args:
        landmark_head (dict | nn.Module, optional): The landmark head
            (:class:`~mmfer.models.LandmarkHeatmapHead`) on the backbone's last feature map of
            x1 and x3; None disables the branch. Defaults to None.
        landmark_loss_weight (float): λ of Eq. (6), ``L = L_cont12 + L_cont13 + λ (L_lm1 +
            L_lm3)``. The paper gives no value; defaults to 100 (Eq. (5) averages over heatmap
            pixels, ~2e-3 per view at initialisation for 56x56 maps with sigma 1.5, so λ = 100
            puts λ(L_lm1 + L_lm3) at the order of the contrastive terms; not tuned).
        **kwargs: The parent algorithm's arguments (``backbone``, ``neck``, ``head`` ...).
    """

    def __init__(self, *, landmark_head: Optional[Union[dict, nn.Module]] = None,
                 landmark_loss_weight: float = 100., **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(landmark_head, dict):
            landmark_head = MODELS.build(landmark_head)
        self.landmark_head = landmark_head
        self.landmark_loss_weight = float(landmark_loss_weight)

    @property
    def with_landmark_head(self) -> bool:
        return self.landmark_head is not None

    def _check_views(self, inputs: List[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Return (x1, x2, x3); a clear error for anything else."""
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or len(inputs) != NUM_VIEWS:
            got = (f'{len(inputs)} views' if isinstance(inputs, (list, tuple))
                   else type(inputs).__name__)
            raise ValueError(
                f'{name} expects inputs = [x1, x2, x3] (3 views, x3 the warp of x1, from '
                f'the ContraWarpViews pipeline), got {got}')
        shapes = [tuple(x.shape) for x in inputs]
        if len(set(shapes)) != 1 or len(shapes[0]) != 4:
            raise ValueError(f'{name}: the 3 views must be (N, C, H, W) tensors of one shape, '
                             f'got {shapes}')
        return tuple(inputs)

    def _landmark_losses(self, feat1: Sequence[torch.Tensor], feat3: Sequence[torch.Tensor],
                         data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        """``λ L_lm1`` and ``λ L_lm3`` (Eq. (5)) on the backbone outputs of x1 and x3; an
        empty dict without the landmark branch."""
        if not self.with_landmark_head:
            return {}
        return {
            name: self.landmark_loss_weight * self.landmark_head.loss(feat, data_samples, view)
            for view, (name, feat) in enumerate((('loss_lm1', feat1), ('loss_lm3', feat3)))
        }
