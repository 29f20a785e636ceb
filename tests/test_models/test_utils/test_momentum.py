# Copyright (c) mmfer contributors. All rights reserved.
import torch
import torch.nn.functional as F
from mmengine.model import ExponentialMovingAverage
from torch import nn

from mmfer.models.utils import momentum_keys


class _Enc(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return (self.bn(self.conv(x)).mean(dim=(2, 3)), )


def test_keys_are_the_normalised_encoder_output_in_input_order():
    torch.manual_seed(0)
    online = _Enc()
    ema = ExponentialMovingAverage(online, momentum=0.001)
    before = [p.clone() for p in ema.parameters()]
    x = torch.randn(6, 3, 8, 8)
    torch.manual_seed(1)  # the shuffle draws a permutation
    k = momentum_keys(ema, x)
    assert k.shape == (6, 4) and not k.requires_grad
    # one process: the shuffle permutes the batch, BN statistics are permutation invariant
    with torch.no_grad():
        ref = F.normalize(ema(x)[0], dim=1)
    assert torch.allclose(k, ref, atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(before, ema.parameters()))  # no EMA update
