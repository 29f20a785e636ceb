# Copyright (c) mmfer contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from mmfer.registry import MODELS


def test_balanced_softmax_loss_matches_formula():
    torch.manual_seed(5)
    counts = [100, 10, 1, 50]
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=counts))
    logits = torch.randn(6, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 2, 0])
    exp = 0.
    for i in range(6):
        z = [float(logits[i, c]) + math.log(counts[c]) for c in range(4)]
        exp += -(z[int(labels[i])] - math.log(sum(math.exp(v) for v in z)))
    assert loss(logits, labels).item() == pytest.approx(exp / 6, rel=1e-9)
    soft = F.one_hot(labels, 4).double()
    assert loss(logits, soft).item() == pytest.approx(exp / 6, rel=1e-9)
    uniform = MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=[7] * 4))
    assert uniform(logits, labels).item() == pytest.approx(
        F.cross_entropy(logits, labels).item(), rel=1e-9)


def test_balanced_softmax_bad_inputs():
    with pytest.raises(ValueError, match='class_counts'):
        MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=[3, 0]))
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=[1, 2, 3, 4]))
    with pytest.raises(ValueError, match='5 logits but 4 class_counts'):
        loss(torch.randn(2, 5), torch.tensor([0, 1]))
