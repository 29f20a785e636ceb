# Copyright (c) mmfer contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from mmfer.registry import MODELS


def test_eq2_cross_entropy_without_bias_and_prototypes():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='EmotionClsHead', num_classes=3, in_channels=4,
                             loss=dict(type='CrossEntropyLoss', loss_weight=2.0))).double()
    assert head.fc.bias is None
    q = F.normalize(torch.randn(5, 4, dtype=torch.float64), dim=1)
    y = torch.tensor([0, 2, 1, 1, 0])
    w = head.weight.detach()
    exp = 0.
    for i in range(5):
        logits = [float(w[c] @ q[i]) for c in range(3)]
        exp += -(logits[int(y[i])] - math.log(sum(math.exp(v) for v in logits)))
    out = head.loss(q, y)
    assert out['loss_emo'].item() == pytest.approx(2.0 * exp / 5, rel=1e-9)  # λ = loss_weight
    acc = float((head(q).argmax(1) == y).double().mean())
    assert out['acc_emo'].item() == pytest.approx(acc)
    protos = head.prototypes()
    assert torch.allclose(protos.norm(dim=1), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(protos * w.norm(dim=1, keepdim=True), w)
    out['loss_emo'].backward()
    assert head.fc.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(dict(type='EmotionClsHead', num_classes=1))
