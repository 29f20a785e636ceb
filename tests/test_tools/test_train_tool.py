# Copyright (c) mmfer contributors. All rights reserved.
"""tools/train.py and tools/dist_train.sh (torchrun, 2 CPU processes, gloo) on a tiny config."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
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


@pytest.mark.slow  # four short trainings through the CLI (~40 s on the loaded 2-core machine)
def test_resume_semantics(tmp_path, tiny_cls_config, write_class_folders):
    data = write_class_folders(str(tmp_path / 'data'))
    work = tmp_path / 'work'
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={data}',
            'default_hooks.checkpoint.interval=2']
    train = [sys.executable, 'tools/train.py', tiny_cls_config, '--work-dir', str(work)]
    # --resume into an empty or mistyped work dir: an error, nothing trained (mmengine
    # alone logged "Auto resumed from the latest checkpoint None" and started from scratch)
    proc = run(train + ['--resume'] + opts + ['train_cfg.max_iters=2'], ok=False)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert f'--resume: nothing to resume in work dir {work} ' in proc.stderr
    assert '--resume auto' in proc.stderr and 'Traceback' not in proc.stderr
    assert not work.exists()
    # --resume auto: from scratch when there is nothing; a top-level typo is named; the run
    # ends by saying where its results are
    proc = run(train + ['--resume', 'auto'] + opts + ['train_cfg.max_iters=2',
                                                       f'load_form={tmp_path}/x.pth'])
    out = proc.stdout + proc.stderr
    assert f'--resume auto: no checkpoint in {work}, training from the start' in out
    assert "unknown top-level config key 'load_form'" in out
    assert "did you mean 'load_from'?" in out
    assert 'Training finished after 2 iterations' in out
    assert f'last checkpoint: {work / "iter_2.pth"}' in out
    # --resume auto with a checkpoint, and --resume without a value, continue from it
    proc = run(train + ['--resume', 'auto'] + opts + ['train_cfg.max_iters=4'])
    assert 'resumed epoch: 0, iter: 2' in proc.stdout + proc.stderr
    proc = run(train + ['--resume'] + opts + ['train_cfg.max_iters=6'])
    assert 'resumed epoch: 0, iter: 4' in proc.stdout + proc.stderr
    assert load_checkpoint_file(str(work / 'iter_6.pth'))['meta']['iter'] == 6
    # a bad checkpoint is named before anything is built
    (tmp_path / 'empty.pth').write_bytes(b'')
    proc = run(train + ['--resume', str(tmp_path / 'empty.pth')] + opts, ok=False)
    assert proc.returncode == 1
    assert f'checkpoint {tmp_path / "empty.pth"} is an empty file' in proc.stderr
    assert 'Traceback' not in proc.stderr


def _default_sigint() -> None:
    """In the child: SIGINT back to its default, so Python turns it into KeyboardInterrupt.
    A test suite started in the background by a shell without job control inherits SIGINT
    *ignored*, and so would the training process: it would never stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow  # two CLI processes, the first training until the second is refused
def test_two_runs_cannot_share_a_work_dir(tmp_path, tiny_cls_config, write_class_folders):
    data = write_class_folders(str(tmp_path / 'data'))
    work = tmp_path / 'work'
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={data}',
            'default_hooks.checkpoint.interval=2']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    first = subprocess.Popen([sys.executable, 'tools/train.py', tiny_cls_config, '--work-dir',
                              str(work)] + opts + ['train_cfg.max_iters=100000',
                                                   'param_scheduler.0.T_max=100000'],
                             cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, preexec_fn=_default_sigint)
    try:
        deadline = time.time() + 300
        while not (work / 'iter_2.pth').exists():  # the first run is training
            assert first.poll() is None, 'the first run ended early'
            assert time.time() < deadline
            time.sleep(0.2)
        # mmengine alone: the second run trains too, both write iter_N.pth, both exit 0
        second = run([sys.executable, 'tools/train.py', tiny_cls_config, '--work-dir',
                      str(work)] + opts + ['train_cfg.max_iters=2'], ok=False)
        assert second.returncode == 1, second.stderr[-3000:]
        assert f'work dir {work} is in use by another run (pid {first.pid} on host ' \
            in second.stderr
        assert 'tools/train.py' in second.stderr  # the holder's command
        assert first.poll() is None  # the first run goes on
    finally:
        first.send_signal(signal.SIGINT)  # KeyboardInterrupt: the lock is released
        first.wait(timeout=120)
    assert not (work / '.mmfer.lock').exists()
