# Copyright (c) mmfer contributors. All rights reserved.
"""InstDiscCheckpointHook in a real mmengine Runner with a toy model that logs scripted
instance-discrimination accuracies."""
import os
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader


class _ScriptedAcc(BaseModel):
    """Logs ``acc_inst`` values from a script, one per training iteration."""

    def __init__(self, accs, key='acc_inst'):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.accs = list(accs)
        self.key = key
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='loss'):
        acc = self.accs[self.calls]
        self.calls += 1
        return {'loss': (self.w ** 2).sum() + 0 * inputs.sum(),
                self.key: torch.tensor(float(acc))}


def _run(tmp_path, accs, max_epochs, key='acc_inst'):
    loader = DataLoader([dict(inputs=torch.ones(1)) for _ in range(2)], batch_size=1)
    runner = Runner(
        model=_ScriptedAcc(accs, key), work_dir=str(tmp_path), train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='InstDiscCheckpointHook', interval=5,
                                           min_accuracy=60.0)),
        default_scope='mmfer', experiment_name=f'exp{len(os.listdir(tmp_path))}')
    runner.train()
    return runner, sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth'))


def test_saves_every_5_epochs_once_the_epoch_mean_reaches_60(tmp_path):
    # 2 iterations per epoch: epoch means 15, 45, 60.5 (gate opens), then high
    accs = [10, 20, 40, 50, 59, 62] + [70] * 18
    runner, ckpts = _run(tmp_path, accs, max_epochs=12)
    assert ckpts == ['epoch_10.pth', 'epoch_12.pth', 'epoch_5.pth']
    hook = [h for h in runner.hooks if type(h).__name__ == 'InstDiscCheckpointHook'][0]
    assert hook.gate_open and hook.max_keep_ckpts == -1


def test_gate_never_opens_below_the_threshold(tmp_path):
    runner, ckpts = _run(tmp_path, [59.9] * 12, max_epochs=6)
    assert ckpts == ['epoch_6.pth']  # only the last epoch (save_last), not epoch 5


def test_model_without_the_accuracy(tmp_path):
    with pytest.raises(KeyError, match="logged no 'acc_inst'"):
        _run(tmp_path, [99] * 4, max_epochs=2, key='other')
    with pytest.raises(ValueError, match='by_epoch=True'):
        from mmfer.engine.hooks import InstDiscCheckpointHook
        InstDiscCheckpointHook(by_epoch=False)
    assert not osp.exists(tmp_path / 'epoch_1.pth')
