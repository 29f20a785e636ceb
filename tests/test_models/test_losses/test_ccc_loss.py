# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmfer.models.losses.ccc_loss import concordance_cc
from mmfer.registry import MODELS


def _ccc_numpy(p, t):
    p = np.asarray(p, np.float64)
    t = np.asarray(t, np.float64)
    cov = ((p - p.mean()) * (t - t.mean())).mean()
    return 2 * cov / (p.var() + t.var() + (p.mean() - t.mean())**2)


def test_ccc_matches_formula_and_limits():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(64, 2)).astype(np.float32)
    t = (0.5 * p + rng.normal(scale=0.5, size=(64, 2))).astype(np.float32)
    ccc = concordance_cc(torch.from_numpy(p), torch.from_numpy(t))
    assert ccc.shape == (2, )
    for d in range(2):
        assert ccc[d].item() == pytest.approx(_ccc_numpy(p[:, d], t[:, d]), abs=1e-5)
    x = torch.from_numpy(p[:, 0] - p[:, 0].mean())  # zero mean: CCC(x, -x) = -1
    assert concordance_cc(x, x).item() == pytest.approx(1.0, abs=1e-6)
    assert concordance_cc(x, -x).item() == pytest.approx(-1.0, abs=1e-6)
    # a constant offset lowers CCC although Pearson correlation stays 1
    assert concordance_cc(x, x + 1).item() < 0.8


def test_ccc_loss_weight_mask_and_grad():
    loss_fn = MODELS.build(dict(type='CCCLoss', loss_weight=2.0))
    pred = torch.tensor([[0.1, 0.5], [0.4, -0.2], [0.9, 0.3], [5.0, 5.0]],
                        requires_grad=True)
    target = torch.tensor([[0.0, 0.4], [0.5, -0.1], [0.8, 0.2], [-5.0, -5.0]])
    mask = torch.tensor([1.0, 1.0, 1.0, 0.0])  # last row unannotated (-5)
    loss = loss_fn(pred, target, weight=mask)
    expected = 2.0 * np.mean([
        1 - _ccc_numpy(pred[:3, d].detach().numpy(), target[:3, d].numpy())
        for d in range(2)
    ])
    assert loss.item() == pytest.approx(expected, abs=1e-5)
    loss.backward()
    assert torch.all(pred.grad[3] == 0)  # masked row gets no gradient
    assert torch.any(pred.grad[:3] != 0)
    with pytest.raises(ValueError, match='shape'):
        loss_fn(pred, target[:, :1])
