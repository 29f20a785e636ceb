# Copyright (c) mmfer contributors. All rights reserved.
import math
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import ExponentialMovingAverage
from mmpretrain.models.utils import CosineEMA

from mmfer.engine import EMAMomentumLoggerHook, ema_decay
from mmfer.registry import HOOKS


def _runner(model, max_iters):
    hub = MessageHub.get_instance('test_ema_momentum_logger_hook')
    hub.update_info('max_iters', max_iters)
    return SimpleNamespace(model=model, message_hub=hub, max_iters=max_iters)


def test_logs_the_cosine_ema_decay_of_each_update():
    """BYOL's target network: τ = 1 - m, m cosine-annealed from base_momentum to 0."""
    net = nn.Linear(2, 2)
    model = SimpleNamespace(target_net=None)
    runner = _runner(model, 100)
    MessageHub._instance_dict.move_to_end('test_ema_momentum_logger_hook')  # CosineEMA reads it
    model.target_net = CosineEMA(net, momentum=0.004)
    hook = HOOKS.build(dict(type='EMAMomentumLoggerHook'))
    hook.before_train(runner)
    logged = []
    for _ in range(3):
        model.target_net.update_parameters(net)
        hook.after_train_iter(runner, 0)
        logged.append(runner.message_hub.get_scalar('train/momentum').current())
    # the 1st update copies (its scheduled value is logged), then steps 1 and 2
    expect = [1 - 0.004 * (math.cos(math.pi * k / 100) + 1) / 2 for k in range(3)]
    assert logged == pytest.approx(expect, abs=1e-12)
    assert logged[0] == pytest.approx(0.996) and 0.996 < logged[2] < 1


def test_plain_ema_and_missing_target_network():
    """MoCo's key encoder: a fixed m, τ = 1 - m; a model without one is refused."""
    ema = ExponentialMovingAverage(nn.Linear(2, 2), momentum=0.001)
    assert ema_decay(ema, 100) == pytest.approx(0.999)
    runner = _runner(SimpleNamespace(encoder_k=ema), 10)
    hook = EMAMomentumLoggerHook()
    hook.after_train_iter(runner, 0)
    assert runner.message_hub.get_scalar('train/momentum').current() == pytest.approx(0.999)
    with pytest.raises(AttributeError, match='has no EMA target network.*target_net, '
                       'encoder_k'):
        hook.before_train(_runner(SimpleNamespace(), 10))
