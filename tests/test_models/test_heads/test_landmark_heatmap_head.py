# Copyright (c) mmfer contributors. All rights reserved.
"""LandmarkHeatmapHead: Eq. (5) on hand-made heatmaps, and it only reads pipeline targets."""
import pytest
import torch
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS


def _head(**kw):
    torch.manual_seed(0)
    return MODELS.build(dict(type='LandmarkHeatmapHead', in_channels=8, out_channels=2,
                             deconv_out_channels=(4, ), deconv_kernel_sizes=(4, ), **kw))


def _hand_made():
    """One face, two landmarks, 2x2 heatmaps: landmark 0 moved (w = 1) with one pixel off by
    1, landmark 1 unmoved (w = 0.1) with one pixel off by 2."""
    target = torch.zeros(1, 2, 2, 2)
    target[0, 0, 0, 0] = 1.0
    target[0, 1, 1, 1] = 1.0
    pred = target.clone()
    pred[0, 0, 0, 0] += 1.0
    pred[0, 1, 1, 1] -= 2.0
    weights = torch.tensor([[1.0, 0.1]])
    return pred, target, weights


def test_eq5_on_hand_made_heatmaps():
    """Eq. (5): L = 1/n Σ_i MSE(w_i pred_i, w_i pseudo_i), the MSE over heatmap pixels.
    Landmark 0: MSE(1·pred, 1·pseudo) = (1² + 0 + 0 + 0) / 4 = 0.25;
    landmark 1: MSE(0.1·pred, 0.1·pseudo) = ((0.1·2)² + 0 + 0 + 0) / 4 = 0.01;
    L = (0.25 + 0.01) / 2 = 0.13."""
    pred, target, weights = _hand_made()
    eq5 = _head()
    assert eq5.weight_squared
    assert float(eq5.heatmap_loss(pred, target, weights)) == pytest.approx(0.13, abs=1e-7)
    # the literal formula, for the record
    lit = sum(torch.mean((w * pred[0, i] - w * target[0, i])**2)
              for i, w in enumerate(weights[0])) / 2
    assert float(lit) == pytest.approx(0.13, abs=1e-7)
    # mmpose's KeypointMSELoss(use_target_weight=True) is linear in w: (0.25 + 0.1 * 1) / 2
    linear = _head(weight_squared=False)
    assert float(linear.heatmap_loss(pred, target, weights)) == pytest.approx(0.175, abs=1e-7)


def test_loss_reads_the_view_of_the_data_samples(monkeypatch):
    """``loss(feats, data_samples, view)`` takes view 0 (x1) or 1 (x3) of the targets."""
    pred, target, weights = _hand_made()
    head = _head()
    ds = DataSample()  # x1: all-zero targets with weights 1; x3: the hand-made targets
    ds.set_field(torch.stack([torch.zeros(2, 2, 2), target[0]]), 'heatmaps')
    ds.set_field(torch.stack([torch.ones(2), weights[0]]), 'keypoint_weights')
    monkeypatch.setattr(head, 'forward', lambda feats: pred)
    feats = (torch.zeros(1, 8, 1, 1), )
    assert float(head.loss(feats, [ds], view=1)) == pytest.approx(0.13, abs=1e-7)
    assert float(head.loss(feats, [ds], view=0)) == pytest.approx(float((pred**2).mean()),
                                                                  abs=1e-7)


def test_real_forward_shapes_and_errors():
    head = _head()
    feats = (torch.randn(3, 8, 2, 2), )
    assert head.forward(feats).shape == (3, 2, 4, 4)  # one deconv: x2
    ds = DataSample()
    ds.set_field(torch.rand(2, 2, 4, 4), 'heatmaps')
    ds.set_field(torch.ones(2, 2), 'keypoint_weights')
    loss = head.loss(feats, [ds] * 3)
    assert loss.shape == () and loss.requires_grad
    with pytest.raises(ValueError, match=r'one data sample per image \(3\), got 2'):
        head.loss(feats, [ds] * 2)
    bad = DataSample()
    bad.set_field(torch.ones(2, 2), 'keypoint_weights')
    with pytest.raises(KeyError, match="data sample 1 has no 'heatmaps'"):
        head.loss(feats, [ds, bad, ds])
    small = DataSample()
    small.set_field(torch.rand(2, 2, 8, 8), 'heatmaps')
    small.set_field(torch.ones(2, 2), 'keypoint_weights')
    with pytest.raises(ValueError, match=r'target heatmaps are \(3, 2, 8, 8\).*predicts '
                       r'\(3, 2, 4, 4\)'):
        head.loss(feats, [small] * 3)
    assert not hasattr(head, 'encode_heatmaps')  # one encoder: the pipeline's
