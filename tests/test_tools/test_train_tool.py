# Copyright (c) mmfer contributors. All rights reserved.
"""tools/train.py and tools/dist_train.sh (torchrun, 2 CPU processes, gloo) on a tiny config."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from mmfer.utils import load_checkpoint_file

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), 'test_utils'))
from test_checkpoint import CFG, write_class_folders  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd, env=None, timeout=300):
    full_env = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f'{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
    return proc


def test_train_then_resume_cli(tmp_path):
    data = write_class_folders(str(tmp_path / 'data'))
    work = str(tmp_path / 'work')
    common = [sys.executable, 'tools/train.py', CFG, '--work-dir', work]
    data_opt = f'train_dataloader.dataset.data_root={data}'
    run(common + ['--cfg-options', data_opt, 'train_cfg.max_iters=4'])
    assert load_checkpoint_file(osp.join(work, 'iter_4.pth'))['meta']['iter'] == 4
    # --resume with an explicit checkpoint continues to 8 iterations.
    proc = run(common + ['--resume', osp.join(work, 'iter_4.pth'), '--cfg-options', data_opt])
    assert 'resumed epoch: 0, iter: 4' in proc.stdout + proc.stderr
    assert load_checkpoint_file(osp.join(work, 'iter_8.pth'))['meta']['iter'] == 8


def test_unknown_cfg_key_is_reported(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CFG, '--work-dir', str(tmp_path), '--cfg-options',
         'model.backbone.type=NoSuchNet'], cwd=REPO, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode != 0
    assert 'NoSuchNet' in proc.stderr


def test_dist_train_two_cpu_processes(tmp_path):
    data = write_class_folders(str(tmp_path / 'data'))
    work = str(tmp_path / 'work')
    # A GPU-style config (SyncBN) runs on CPU processes: SyncBN is reverted per process.
    proc = run(['bash', 'tools/dist_train.sh', CFG, '2', '--work-dir', work, '--cfg-options',
                f'train_dataloader.dataset.data_root={data}', 'train_cfg.max_iters=4',
                'model.backbone.norm_cfg.type=SyncBN', 'sync_bn=torch'],
               env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    out = proc.stdout + proc.stderr
    # Each of the two processes reports the CPU switch before the process group exists.
    assert out.count('No CUDA device: using the gloo backend') == 2, out[-3000:]
    logs = [osp.join(root, f) for root, _, files in os.walk(work) for f in files
            if f.endswith('.log')]
    assert len(logs) == 1, logs  # only rank 0 writes the log
    log = open(logs[0]).read()
    assert 'Distributed training: True' in log and 'Epoch(train) [1][4/' in log
    assert 'SyncBN layers run as per-process BN' in out
    ckpt = load_checkpoint_file(osp.join(work, 'iter_4.pth'))
    assert ckpt['meta']['iter'] == 4
    # DDP keeps the replicas identical: the saved weights are finite and trained.
    assert all(v.isfinite().all() for v in ckpt['state_dict'].values() if v.is_floating_point())
