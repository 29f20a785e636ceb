# Copyright (c) mmfer contributors. All rights reserved.
"""Multi-label linear head whose BCE ignores unannotated labels (Aff-Wild2 AUs)."""
from typing import Dict, List

import torch
from mmpretrain.models.heads import MultiLabelLinearClsHead
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS


@MODELS.register_module()
class MaskedMultiLabelLinearClsHead(MultiLabelLinearClsHead):
    """mmpretrain's ``MultiLabelLinearClsHead`` with a per-label mask in the loss.

    Targets come from ``data_sample.gt_score`` (C,) 0/1; the mask from
    ``data_sample.<mask_key>`` (C,) (1 = annotated; packed with
    ``PackInputs(algorithm_keys=('au_mask',))``). Without a mask field, targets ``< 0`` are
    treated as unannotated. The element-wise loss (``loss`` config evaluated with
    ``reduction_override='none'``, default sigmoid BCE) is summed over annotated entries
    and divided by their number, so an unannotated AU contributes neither loss nor
    gradient. Prediction is the parent's (``pred_score`` = sigmoid, ``pred_label``).

    Args:
        num_classes (int): Number of labels (12 AUs for Aff-Wild2).
        in_channels (int): Input feature size.
        mask_key (str): Data-sample field of the mask. Defaults to ``'au_mask'``.
        **kwargs: ``loss``, ``thr``, ``topk``, ``init_cfg`` of the parent.
    """

    def __init__(self, num_classes: int, in_channels: int, mask_key: str = 'au_mask',
                 **kwargs) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        self.mask_key = mask_key

    def _get_loss(self, cls_score: torch.Tensor, data_samples: List[DataSample],
                  **kwargs) -> Dict[str, torch.Tensor]:
        if 'gt_score' not in data_samples[0]:
            raise KeyError('MaskedMultiLabelLinearClsHead: data samples need gt_score (C,) '
                           '0/1 targets')
        target = torch.stack([s.gt_score.float() for s in data_samples]).to(cls_score)
        if self.mask_key in data_samples[0]:
            mask = torch.stack([torch.as_tensor(s.get(self.mask_key)).float()
                                for s in data_samples]).to(cls_score)
        else:
            mask = (target >= 0).to(cls_score)
        if mask.shape != cls_score.shape:
            raise ValueError(f'MaskedMultiLabelLinearClsHead: mask shape {tuple(mask.shape)} '
                             f'!= score shape {tuple(cls_score.shape)}')
        target = target.clamp(min=0)
        elementwise = self.loss_module(cls_score, target, reduction_override='none',
                                       **kwargs)
        loss = (elementwise * mask).sum() / mask.sum().clamp(min=1.0)
        return dict(loss=loss)
