# Copyright (c) mmfer contributors. All rights reserved.
"""info_nce / InfoNCELoss against a loop over rows and positives."""
import math

import pytest
import torch

from mmfer.models.losses import InfoNCELoss, info_nce

TAU = 0.07


def _loop(sim, pos, neg, tau):
    rows = []
    for r in range(sim.size(0)):
        ps = pos[r].nonzero().flatten().tolist()
        if not ps:
            continue
        ns = neg[r].nonzero().flatten().tolist()
        vals = []
        for p in ps:
            num = math.exp(sim[r, p] / tau)
            vals.append(-math.log(num / (num + sum(math.exp(sim[r, c] / tau) for c in ns))))
        rows.append(sum(vals) / len(vals))
    return sum(rows) / len(rows)


def test_info_nce_matches_loop():
    torch.manual_seed(0)
    sim = torch.randn(5, 7).double()
    pos = torch.rand(5, 7) < 0.3
    neg = ~pos & (torch.rand(5, 7) < 0.7)
    pos[0] = False  # a row without positives is ignored
    pos[1, 0] = True
    neg[1, 0] = False
    got = info_nce(sim, pos, neg, TAU)
    assert got.item() == pytest.approx(_loop(sim, pos, neg, TAU), rel=1e-9)
    none = info_nce(sim, pos, neg, TAU, reduction='none')
    assert none.shape == (5, ) and none[0] == 0
    assert info_nce(sim, pos, neg, TAU, reduction='sum').item() == pytest.approx(
        none.sum().item(), rel=1e-9)


def test_info_nce_bad_inputs():
    sim = torch.randn(3, 3)
    pos = torch.eye(3, dtype=torch.bool)
    with pytest.raises(ValueError, match='both a positive and a negative'):
        info_nce(sim, pos, pos, TAU)
    with pytest.raises(ValueError, match='same'):
        info_nce(sim, pos[:2], ~pos, TAU)
    with pytest.raises(ValueError, match='temperature'):
        info_nce(sim, pos, ~pos, 0.)


def test_module_weight_and_default_negatives():
    torch.manual_seed(1)
    sim = torch.randn(4, 4).double()
    pos = torch.zeros(4, 4, dtype=torch.bool)
    pos[0, 1] = pos[1, 0] = pos[2, 3] = pos[3, 2] = True
    loss = InfoNCELoss(temperature=0.2, loss_weight=0.5)
    assert loss(sim, pos).item() == pytest.approx(0.5 * _loop(sim, pos, ~pos, 0.2), rel=1e-9)
    assert 'temperature=0.2' in repr(loss)
