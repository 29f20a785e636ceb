# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models.heads import LatentPredictHead

from mmfer.registry import MODELS


def _head(**kw):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='ContraWarpHead',
        predictor=dict(type='NonLinearNeck', in_channels=8, hid_channels=16, out_channels=8,
                       with_avg_pool=False, with_last_bn=False, norm_cfg=dict(type='BN1d')),
        **kw))


def test_predicts_each_view_and_applies_contrawarp_loss():
    head = _head(loss=dict(type='ContraWarpLoss', target_similarity=0.3))
    assert isinstance(head, LatentPredictHead)  # the predictor + loss_module of BYOL's head
    g = torch.Generator().manual_seed(1)
    z = [torch.randn(6, 8, generator=g, requires_grad=True) for _ in range(3)]
    t = [torch.randn(6, 8, generator=g, requires_grad=True) for _ in range(3)]
    out = head.loss(z, t)
    p = [head.predictor([zi])[0] for zi in z]
    pn, tn = [F.normalize(x, dim=1) for x in p], [F.normalize(x, dim=1) for x in t]
    sim12 = 0.5 * ((pn[0] * tn[1]).sum(1) + (pn[1] * tn[0]).sum(1))
    sim13 = 0.5 * ((pn[0] * tn[2]).sum(1) + (pn[2] * tn[0]).sum(1))
    torch.testing.assert_close(out['loss_cont12'], -sim12.mean())
    torch.testing.assert_close(out['loss_cont13'], sim13.clamp(min=0.3).mean())
    (out['loss_cont12'] + out['loss_cont13']).backward()
    assert all(x.grad is not None for x in z)
    assert all(x.grad is None for x in t)  # stop-gradient on the targets
    assert head.loss_module.target_similarity == 0.3
    assert _head().loss_module.target_similarity == 0.6  # the paper's s_t (Tab. 2)


def test_needs_three_views():
    head = _head()
    z = [torch.randn(2, 8) for _ in range(2)]
    with pytest.raises(ValueError, match='3 views x1, x2, x3, got 2 inputs'):
        head.loss(z, z)
