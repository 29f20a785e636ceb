# Copyright (c) mmfer contributors. All rights reserved.
"""Bad checkpoints given to the tools are named (and diagnosed) before any work starts."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KNN = 'configs/ssl_study/benchmarks/resnet18-w16_knn-linear_rafdb-synthetic48.py'


def run(args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('MMFER_DEBUG', None)
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize('payload,words', [
    (b'', 'is an empty file (0 bytes)'),
    (b'iteration 4 done\n', 'is not a checkpoint (no torch zip/pickle header'),
    ('half', 'is truncated or corrupt'),
])
def test_test_tool_names_a_bad_checkpoint_first(tmp_path, payload, words):
    if payload == 'half':
        torch.save({'state_dict': {'w': torch.randn(5000)}}, tmp_path / 'full.pth')
        data = (tmp_path / 'full.pth').read_bytes()
        payload = data[:len(data) // 2]
    ckpt = tmp_path / 'ckpt.pth'
    ckpt.write_bytes(payload)
    # the data folder does not exist either: the checkpoint is reported first, in one line
    proc = run(['tools/test.py', KNN, str(ckpt), '--work-dir', str(tmp_path / 'w'),
                '--cfg-options', f'test_dataloader.dataset.data_root={tmp_path}/nodata'],
               tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'tools/test.py: error: InvalidCheckpointError: ' in proc.stderr
    assert f'{ckpt} {words}' in proc.stderr, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr and 'weights_only' not in proc.stderr
    assert not (tmp_path / 'w').exists()
