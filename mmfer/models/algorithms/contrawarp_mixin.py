# Copyright (c) mmfer contributors. All rights reserved.
"""Shared parts of the ContraWarping algorithms (BYOL / SimSiam / MoCo v2 variants).

Batch format (from ``ContraWarpViews`` + ``PackContraWarpInputs`` through mmpretrain's
``SelfSupDataPreprocessor``):

- ``inputs``: list of 3 tensors (N, 3, H, W): ``[x1, x2, x3]``, x3 being the local warp of x1;
- ``data_samples``: N mmpretrain ``DataSample`` with

  - ``keypoints`` (2, K, 2): x1's and x3's landmarks in input pixels,
  - ``keypoint_weights`` (2, K): 1.0 for moved / 0.1 for unmoved landmarks, all zeros when the
    image has no landmarks,
  - ``heatmaps`` (2, K, h, w), optional: MSRAHeatmap targets; encoded in the model from
    ``keypoints`` when absent,
  - ``has_landmarks`` (bool).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from mmfer.registry import MODELS

NUM_VIEWS = 3


class ContraWarpMixin:
    """Landmark branch, input checks and logging shared by the ContraWarping algorithms.

    A class using it must call :meth:`_init_contrawarp` after ``BaseSelfSupervisor.__init__``.
    """

    def _init_contrawarp(self, contrawarp_loss: Optional[dict], landmark_head: Optional[dict],
                         landmark_loss_weight: float, use_pipeline_heatmaps: bool) -> None:
        if contrawarp_loss is not None:
            self.contrawarp_loss = (contrawarp_loss if isinstance(contrawarp_loss, nn.Module)
                                    else MODELS.build(contrawarp_loss))
        if landmark_head is not None and not isinstance(landmark_head, nn.Module):
            landmark_head = MODELS.build(landmark_head)
        self.landmark_head = landmark_head
        self.landmark_loss_weight = float(landmark_loss_weight)
        self.use_pipeline_heatmaps = bool(use_pipeline_heatmaps)

    @property
    def with_landmark_head(self) -> bool:
        return getattr(self, 'landmark_head', None) is not None

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

    @staticmethod
    def _last(feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return feats[-1] if isinstance(feats, (list, tuple)) else feats

    def _landmark_targets(self, data_samples: Optional[list], num: int,
                          num_kpts: int) -> Tuple[torch.Tensor, torch.Tensor,
                                                  Optional[torch.Tensor]]:
        """Stack the per-sample landmark fields.

        Returns:
            tuple: keypoints (N, 2, K, 2), weights (N, 2, K) (zeroed where ``has_landmarks``
            is False) and heatmaps (N, 2, K, h, w) or None when the samples carry none (or
            ``use_pipeline_heatmaps`` is False).
        """
        name = type(self).__name__
        if data_samples is None or len(data_samples) != num:
            raise ValueError(f'{name}: the landmark branch needs one data sample per image '
                             f'({num}), got '
                             f'{None if data_samples is None else len(data_samples)}')
        kpts, weights, heatmaps = [], [], []
        for i, ds in enumerate(data_samples):
            for key in ('keypoints', 'keypoint_weights'):
                if key not in ds:
                    raise KeyError(
                        f'{name}: data sample {i} has no {key!r}; the landmark branch needs '
                        'the ContraWarpViews + PackContraWarpInputs pipeline (or set '
                        'model.landmark_head=None)')
            k = torch.as_tensor(ds.get('keypoints')).float()
            w = torch.as_tensor(ds.get('keypoint_weights')).float()
            if tuple(k.shape) != (2, num_kpts, 2) or tuple(w.shape) != (2, num_kpts):
                raise ValueError(
                    f'{name}: data sample {i}: keypoints must be (2, {num_kpts}, 2) and '
                    f'keypoint_weights (2, {num_kpts}), got {tuple(k.shape)} and '
                    f'{tuple(w.shape)}')
            has = ds.get('has_landmarks', True)
            has = bool(torch.as_tensor(has).reshape(-1)[0]) if has is not None else True
            if not has:
                w = torch.zeros_like(w)
            kpts.append(k)
            weights.append(w)
            hm = ds.get('heatmaps', None) if self.use_pipeline_heatmaps else None
            heatmaps.append(None if hm is None else torch.as_tensor(hm).float())
        if all(h is not None for h in heatmaps):
            hms = torch.stack(heatmaps)
        elif any(h is not None for h in heatmaps):
            missing = [i for i, h in enumerate(heatmaps) if h is None]
            raise ValueError(f'{name}: data samples {missing} have no heatmaps while others '
                             'do; the pipeline must encode all or none')
        else:
            hms = None
        return torch.stack(kpts), torch.stack(weights), hms

    def _landmark_losses(self, feat1: Sequence[torch.Tensor], feat3: Sequence[torch.Tensor],
                         x1: torch.Tensor, data_samples: Optional[list]
                         ) -> Dict[str, torch.Tensor]:
        """λ·L_lm1 and λ·L_lm3 on the backbone outputs of x1 and x3."""
        head = self.landmark_head
        num = x1.shape[0]
        kpts, weights, hms = self._landmark_targets(data_samples, num, head.out_channels)
        dev = x1.device
        kpts, weights = kpts.to(dev), weights.to(dev)
        hms = hms.to(dev) if hms is not None else None
        input_size = (int(x1.shape[-1]), int(x1.shape[-2]))
        losses = {}
        for v, (name, feat) in enumerate((('loss_lm1', feat1), ('loss_lm3', feat3))):
            loss = head.loss_landmarks(
                (self._last(feat), ), weights[:, v],
                heatmaps=None if hms is None else hms[:, v],
                keypoints=kpts[:, v], input_size=input_size)
            losses[name] = self.landmark_loss_weight * loss
        return losses

    @staticmethod
    def _cosine_ema_momentum(ema: nn.Module) -> float:
        """The target network's decay τ = 1 - m used by the *last* ``CosineEMA`` update.

        mmpretrain's ``CosineEMA`` weights the online network by ``m``, annealed from
        ``base_momentum`` to ``end_momentum`` (0) with a cosine over ``max_iters``; the
        conventional BYOL momentum τ = 1 - m thus goes from 1 - base_momentum to 1.
        """
        # the update that just ran used ``steps - 1`` (the very first update initialises the
        # target network by copying the online one; its scheduled value is logged)
        steps = max(int(ema.steps) - 1, 0)
        max_iters = MessageHub.get_current_instance().get_info('max_iters')
        if not max_iters:
            return 1.0 - float(ema.momentum)
        anneal = (math.cos(math.pi * steps / float(max_iters)) + 1) / 2
        m = ema.end_momentum - (ema.end_momentum - ema.momentum) * anneal
        return 1.0 - m
