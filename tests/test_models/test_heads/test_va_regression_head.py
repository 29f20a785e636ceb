# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch
from mmpretrain.structures import DataSample

from mmfer.models.losses.ccc_loss import concordance_cc
from mmfer.registry import MODELS


def _sample(**fields):
    s = DataSample()
    for k, v in fields.items():
        s.set_field(v, k)
    return s


def test_va_regression_head_loss_predict_and_mask():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='VARegressionHead', in_channels=16))
    head.init_weights()
    feats = (torch.randn(6, 16), )
    target = torch.rand(6, 2) * 2 - 1
    target[5] = -5.0  # unannotated: ignored
    samples = [_sample(gt_va=t) for t in target]
    losses = head.loss(feats, samples)
    pred = torch.tanh(head.fc(feats[0]))
    expected = (1 - concordance_cc(pred[:5], target[:5])).mean()
    assert losses['loss_ccc'].item() == pytest.approx(expected.item(), abs=1e-5)
    losses['loss_ccc'].backward()
    out = head.predict(feats, [DataSample() for _ in range(6)])
    assert out[0].pred_va.shape == (2, )
    assert torch.allclose(torch.stack([o.pred_va for o in out]), pred.detach())
    assert torch.all(torch.stack([o.pred_va for o in out]).abs() <= 1)
    with pytest.raises(ValueError, match='model.head.in_channels'):
        head((torch.randn(2, 8), ))
    with pytest.raises(KeyError, match='gt_va'):
        head.loss(feats, [DataSample() for _ in range(6)])
