# Copyright (c) mmfer contributors. All rights reserved.
"""tools/train.py and tools/dist_train.sh (torchrun, 2 CPU processes, gloo) on a tiny config."""
import os
import os.path as osp
import subprocess
import sys

import torch

from mmfer.utils import load_checkpoint_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(cmd, env=None, timeout=300, ok=True):
    full_env = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if ok:
        assert proc.returncode == 0, \
            f'{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
    return proc


def test_train_then_resume_cli(tmp_path, tiny_cls_config, write_class_folders):
    data = write_class_folders(str(tmp_path / 'data'))
    work = str(tmp_path / 'work')
    common = [sys.executable, 'tools/train.py', tiny_cls_config, '--work-dir', work]
    data_opt = f'train_dataloader.dataset.data_root={data}'
    run(common + ['--cfg-options', data_opt, 'train_cfg.max_iters=4'])
    ckpt = load_checkpoint_file(osp.join(work, 'iter_4.pth'))
    assert ckpt['meta']['iter'] == 4
    # --resume with an explicit checkpoint continues to 8 iterations.
    proc = run(common + ['--resume', osp.join(work, 'iter_4.pth'), '--cfg-options', data_opt])
    assert 'resumed epoch: 0, iter: 4' in proc.stdout + proc.stderr
    assert load_checkpoint_file(osp.join(work, 'iter_8.pth'))['meta']['iter'] == 8

    # --resume is strict: a checkpoint with a wrong-shaped layer stops with the list of
    # mismatches (mmengine alone resumed with that layer left random, exit 0).
    bad = dict(ckpt)
    bad['state_dict'] = dict(ckpt['state_dict'])
    bad['state_dict']['backbone.layer4.0.conv2.weight'] = torch.zeros(64, 64, 1, 1)
    bad_path = str(tmp_path / 'wrong_shape.pth')
    torch.save(bad, bad_path)
    proc = run([sys.executable, 'tools/train.py', tiny_cls_config, '--work-dir',
                str(tmp_path / 'work2'), '--resume', bad_path, '--cfg-options', data_opt],
               ok=False)
    assert proc.returncode != 0
    assert not osp.exists(tmp_path / 'work2' / 'iter_8.pth')
    assert 'wrong_shape.pth does not fit the model' in proc.stderr
    assert 'backbone.layer4.0.conv2.weight: checkpoint (64, 64, 1, 1) vs model (64, 64, 3, 3)' \
        in proc.stderr

    # load_from a checkpoint without the backbone's weights stops (mmengine alone trained a
    # random backbone and exited 0): the error names the file, the prefix and the counts.
    torch.save({'encoder.conv1.weight': torch.zeros(8, 3, 7, 7)}, tmp_path / 'other.pth')
    proc = run([sys.executable, 'tools/train.py', tiny_cls_config, '--work-dir',
                str(tmp_path / 'work3'), '--cfg-options', data_opt,
                f'load_from={tmp_path / "other.pth"}'], ok=False)
    assert proc.returncode != 0
    assert 'No weights of checkpoint' in proc.stderr and 'other.pth' in proc.stderr
    assert "no key starts with 'backbone.'" in proc.stderr
    assert not osp.exists(tmp_path / 'work3' / 'iter_8.pth')


def test_unknown_cfg_key_is_reported(tmp_path, tiny_cls_config):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', tiny_cls_config, '--work-dir', str(tmp_path),
         '--cfg-options', 'model.backbone.type=NoSuchNet'], cwd=REPO, capture_output=True,
        text=True, timeout=300)
    assert proc.returncode != 0
    assert 'NoSuchNet' in proc.stderr


def test_dist_train_two_cpu_processes(tmp_path, tiny_cls_config, write_class_folders,
                                      free_port):
    data = write_class_folders(str(tmp_path / 'data'))
    work = str(tmp_path / 'work')
    # A GPU-style config (SyncBN) runs on CPU processes: SyncBN is reverted per process.
    proc = run(['bash', 'tools/dist_train.sh', tiny_cls_config, '2', '--work-dir', work,
                '--cfg-options', f'train_dataloader.dataset.data_root={data}',
                'train_cfg.max_iters=4', 'model.backbone.norm_cfg.type=SyncBN', 'sync_bn=torch'],
               env=dict(PYTHON=sys.executable, PORT=str(free_port)))
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
