# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch

from mmfer.registry import MODELS


def _reference(p1, p2, p3, z1, z2, z3, s_t):
    """The issue's formula written out with explicit loops (independent of the module)."""
    def unit(v):
        return v / v.norm()

    s12, s13 = [], []
    for n in range(p1.shape[0]):
        s12.append(0.5 * (float(unit(p1[n]) @ unit(z2[n])) + float(unit(p2[n]) @ unit(z1[n]))))
        s13.append(0.5 * (float(unit(p1[n]) @ unit(z3[n])) + float(unit(p3[n]) @ unit(z1[n]))))
    loss12 = -sum(s12) / len(s12)
    loss13 = sum(max(s, s_t) for s in s13) / len(s13)
    return loss12, loss13, sum(s12) / len(s12), sum(s13) / len(s13)


@pytest.mark.parametrize('s_t', [0.6, 0.0, -0.2])
def test_matches_formula(s_t):
    torch.manual_seed(0)
    tensors = [torch.randn(7, 16, dtype=torch.float64) for _ in range(6)]
    # make some 1-3 pairs very similar so that both sides of the hinge are exercised
    tensors[5][:3] = tensors[0][:3] * 2.0
    tensors[2][:3] = tensors[3][:3] * 0.5
    loss = MODELS.build(dict(type='ContraWarpLoss', target_similarity=s_t))
    out = loss(*tensors)
    ref12, ref13, sim12, sim13 = _reference(*tensors, s_t)
    assert set(out) == {'loss_cont12', 'loss_cont13', 'sim12', 'sim13'}
    assert float(out['loss_cont12']) == pytest.approx(ref12, abs=1e-10)
    assert float(out['loss_cont13']) == pytest.approx(ref13, abs=1e-10)
    assert float(out['sim12']) == pytest.approx(sim12, abs=1e-10)
    assert float(out['sim13']) == pytest.approx(sim13, abs=1e-10)
    assert not out['sim12'].requires_grad and not out['sim13'].requires_grad


def test_gradients_reach_p_not_z_and_hinge_is_per_sample():
    torch.manual_seed(1)
    p = [torch.randn(4, 8, requires_grad=True) for _ in range(3)]
    z = [torch.randn(4, 8, requires_grad=True) for _ in range(3)]
    with torch.no_grad():
        z[2][0] = p[0][0]  # sample 0: x1 and x3 nearly identical -> above s_t
        p[2][0] = z[0][0]
        z[2][1] = -p[0][1]  # sample 1: opposite -> below s_t, hinge inactive
        p[2][1] = -z[0][1]
    loss = MODELS.build(dict(type='ContraWarpLoss', target_similarity=0.6,
                             loss_weight_12=0.5, loss_weight_13=2.0))
    out = loss(*p, *z)
    (out['loss_cont12'] + out['loss_cont13']).backward()
    for t in z:
        assert t.grad is None  # detached inside the loss
    for t in p:
        assert t.grad is not None and t.grad.abs().sum() > 0
    # only loss_cont13 touches p3; sample 1 is below s_t, so its p3 gradient is exactly zero
    assert torch.all(p[2].grad[1] == 0)
    assert p[2].grad[0].abs().sum() > 0


def test_loss_weights_and_saturation():
    torch.manual_seed(2)
    t = [torch.randn(5, 6) for _ in range(6)]
    base = MODELS.build(dict(type='ContraWarpLoss'))(*t)
    weighted = MODELS.build(dict(type='ContraWarpLoss', loss_weight_12=3.0,
                                 loss_weight_13=0.25))(*t)
    assert torch.allclose(weighted['loss_cont12'], 3.0 * base['loss_cont12'])
    assert torch.allclose(weighted['loss_cont13'], 0.25 * base['loss_cont13'])
    # x3 orthogonal-ish / opposite to x1 in every sample: the hinge holds the loss at s_t
    p1 = torch.eye(4)
    out = MODELS.build(dict(type='ContraWarpLoss', target_similarity=0.6))(
        p1, p1, -p1, p1, p1, -p1)
    assert float(out['loss_cont13']) == pytest.approx(0.6)
    assert float(out['sim13']) == pytest.approx(-1.0)
    assert float(out['loss_cont12']) == pytest.approx(-1.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match='target_similarity'):
        MODELS.build(dict(type='ContraWarpLoss', target_similarity=1.5))
    loss = MODELS.build(dict(type='ContraWarpLoss'))
    a = torch.randn(3, 4)
    with pytest.raises(ValueError, match='same shape'):
        loss(a, a, a, a, a, torch.randn(3, 5))
