# Copyright (c) mmfer contributors. All rights reserved.
"""A run killed with SIGKILL mid-training and resumed with --resume ends where an
uninterrupted run ends; checkpoints on disk are never truncated."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import torch

from mmfer.utils import load_checkpoint_file


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAX_ITERS = 40


def train_cmd(cfg: str, work: str, data: str, *extra: str):
    return [sys.executable, 'tools/train.py', cfg, '--work-dir', work, *extra, '--cfg-options',
            f'train_dataloader.dataset.data_root={data}', f'train_cfg.max_iters={MAX_ITERS}',
            f'param_scheduler.0.T_max={MAX_ITERS}', 'default_hooks.checkpoint.interval=2',
            'default_hooks.checkpoint.max_keep_ckpts=100']


def test_sigkill_then_resume_matches_uninterrupted(tmp_path, tiny_cls_config,
                                                   write_class_folders):
    data = write_class_folders(str(tmp_path / 'data'))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    ref_dir, run_dir = str(tmp_path / 'ref'), str(tmp_path / 'run')
    ref = subprocess.run(train_cmd(tiny_cls_config, ref_dir, data), cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert ref.returncode == 0, ref.stderr[-3000:]

    proc = subprocess.Popen(train_cmd(tiny_cls_config, run_dir, data), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not osp.exists(osp.join(run_dir, 'iter_10.pth')):
        assert proc.poll() is None, 'training ended before it could be killed'
        assert time.time() < deadline, 'no checkpoint after 300 s'
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = sorted(int(f[5:-4]) for f in os.listdir(run_dir)
                       if f.startswith('iter_') and f.endswith('.pth'))
    assert killed_at and killed_at[-1] < MAX_ITERS, killed_at  # killed mid-run
    # Every checkpoint present after the kill is complete and loads.
    for it in killed_at:
        assert load_checkpoint_file(osp.join(run_dir, f'iter_{it}.pth'))['meta']['iter'] == it

    # SIGKILL left the work-dir lock behind (and perhaps the temporary file of a checkpoint
    # being written): the next run takes the stale lock over and removes such files
    assert osp.exists(osp.join(run_dir, '.mmfer.lock'))
    resumed = subprocess.run(train_cmd(tiny_cls_config, run_dir, data, '--resume'), cwd=REPO,
                             env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    out = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 0, iter:' in out
    assert f'took over the stale lock {osp.join(run_dir, ".mmfer.lock")}' in out
    assert f'pid {proc.pid} on host' in out
    assert not [f for f in os.listdir(run_dir) if f.startswith('.') and f.endswith('.tmp')]
    assert not osp.exists(osp.join(run_dir, '.mmfer.lock'))
    a = load_checkpoint_file(osp.join(ref_dir, f'iter_{MAX_ITERS}.pth'))['state_dict']
    b = load_checkpoint_file(osp.join(run_dir, f'iter_{MAX_ITERS}.pth'))['state_dict']
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
