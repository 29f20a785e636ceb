# Copyright (c) mmfer contributors. All rights reserved.
"""Valence/arousal regression head (one linear layer) for ``ImageClassifier`` models."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS


@MODELS.register_module()
class VARegressionHead(BaseModule):
    """Linear regression of (valence, arousal) with CCC (and optionally other) losses.

    Works as the ``head`` of mmpretrain's ``ImageClassifier``: ``loss`` reads the targets
    from ``data_sample.gt_va`` ((2,), packed with ``PackInputs(algorithm_keys=('gt_va',))``)
    and ``predict`` writes ``data_sample.pred_va`` ((2,)), the fields read by
    :class:`mmfer.evaluation.VAMetric`. Targets outside ``valid_range`` (ABAW's ``-5`` for
    unannotated) get zero weight in the loss.

    Args:
        in_channels (int): Input feature size.
        num_outputs (int): Regressed values. Defaults to 2 (valence, arousal).
        loss (dict | list[dict]): Loss config(s), summed; each is called as
            ``loss(pred (N, D), target (N, D), weight=(N, D))``. Defaults to ``CCCLoss``.
        activation (str, optional): ``'tanh'`` bounds outputs to [-1, 1] (the label range);
            None for a plain linear output. Defaults to ``'tanh'``.
        valid_range (tuple): Inclusive range of valid targets. Defaults to (-1, 1).
        init_cfg (dict, optional): Defaults to ``Normal(std=0.01)`` on the linear layer.
    """

    def __init__(self,
                 in_channels: int,
                 num_outputs: int = 2,
                 loss: Union[dict, Sequence[dict]] = dict(type='CCCLoss'),
                 activation: Optional[str] = 'tanh',
                 valid_range: Tuple[float, float] = (-1.0, 1.0),
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Linear', std=0.01)):
        super().__init__(init_cfg=init_cfg)
        if activation not in (None, 'tanh'):
            raise ValueError(f"VARegressionHead: activation must be 'tanh' or None, got "
                             f'{activation!r}')
        self.in_channels = in_channels
        self.num_outputs = num_outputs
        self.activation = activation
        self.valid_range = valid_range
        losses = [loss] if isinstance(loss, (dict, nn.Module)) else list(loss)
        self.loss_modules = nn.ModuleList(
            [m if isinstance(m, nn.Module) else MODELS.build(m) for m in losses])
        self.fc = nn.Linear(in_channels, num_outputs)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last neck output, (N, in_channels)."""
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """(N, in_channels) features -> (N, num_outputs) predictions."""
        x = self.pre_logits(feats)
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'VARegressionHead(in_channels={self.in_channels}) got features '
                             f'of shape {tuple(x.shape)}; set model.head.in_channels to the '
                             "neck's output size")
        out = self.fc(x)
        return torch.tanh(out) if self.activation == 'tanh' else out

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses from ``data_sample.gt_va`` (N x num_outputs)."""
        pred = self(feats)
        try:
            target = torch.stack([torch.as_tensor(s.gt_va) for s in data_samples])
        except AttributeError:
            raise KeyError('VARegressionHead: data samples have no gt_va; pack it with '
                           "PackInputs(algorithm_keys=('gt_va',))") from None
        target = target.to(pred).reshape(pred.shape)
        low, high = self.valid_range
        weight = ((target >= low) & (target <= high)).to(pred)
        losses = {}
        for module in self.loss_modules:
            name = 'loss_' + type(module).__name__.replace('Loss', '').lower()
            losses[name] = module(pred, target, weight=weight)
        return losses

    def predict(self, feats: Tuple[torch.Tensor],
                data_samples: Optional[List[Optional[DataSample]]] = None
                ) -> List[DataSample]:
        """Write ``pred_va`` (num_outputs,) into each data sample."""
        pred = self(feats).detach()
        if data_samples is None:
            data_samples = [None] * pred.shape[0]
        out = []
        for sample, p in zip(data_samples, pred):
            sample = DataSample() if sample is None else sample
            sample.set_field(p, 'pred_va')
            out.append(sample)
        return out
