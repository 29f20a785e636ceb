# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch
from mmpretrain.structures import DataSample
from torch import nn

from mmfer.models.losses import concordance_cc
from mmfer.registry import MODELS


def test_mlp_cls_head_three_linears_loss_and_predict():
    head = MODELS.build(dict(type='MLPClsHead', num_classes=8, in_channels=16, hid_channels=32,
                             loss=dict(type='BalancedSoftmaxLoss', class_counts=[1] * 8)))
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 32), (32, 32), (32, 8)]
    feats = (torch.randn(4, 16, 3, 3), )  # pooled inside when no neck
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    losses = head.loss(feats, samples)
    assert losses['loss'].item() > 0
    preds = head.predict(feats, samples)
    assert preds[0].pred_score.shape == (8, )
    with pytest.raises(ValueError, match='in_channels=16'):
        head((torch.randn(2, 15), ))


def test_mlp_va_head_ccc_loss_masks_invalid_targets():
    va = MODELS.build(dict(type='MLPVAHead', in_channels=16, hid_channels=8))
    feats = (torch.randn(6, 16), )
    samples = []
    for i in range(6):
        ds = DataSample()
        ds.set_field(torch.tensor([0.1 * i, -0.1 * i] if i != 5 else [-2., -2.]), 'gt_va')
        samples.append(ds)
    losses = va.loss(feats, samples)
    pred = va(feats)
    exp = 1 - concordance_cc(pred[:5], torch.stack([s.gt_va for s in samples[:5]])).mean()
    assert losses['loss_ccc'].item() == pytest.approx(exp.item(), rel=1e-5)
    out = va.predict(feats, samples)
    assert out[0].pred_va.shape == (2, ) and out[0].pred_va.abs().max() <= 1
