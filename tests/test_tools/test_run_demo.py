# Copyright (c) mmfer contributors. All rights reserved.
"""`make demo`'s driver end to end at a tiny size: every step runs and the report is complete."""
import os
import os.path as osp
import re
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_tiny_demo_writes_complete_report(tmp_path):
    work, data = str(tmp_path / 'demo'), str(tmp_path / 'data')
    cmd = [sys.executable, 'tools/misc/run_demo.py', '--work-dir', work, '--data-root', data,
           '--iters', '4', '--batch-size', '8', '--num-pretrain', '64', '--num-eval', '120',
           '--workers', '0']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = open(osp.join(work, 'report.md')).read()
    rows = re.findall(r'^\| (ContraWarping-BYOL \(RW† \+ LD\)|BYOL \(mmpretrain\)|random '
                      r'initialisation) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|',
                      report, flags=re.M)
    assert [r[0] for r in rows] == ['ContraWarping-BYOL (RW† + LD)', 'BYOL (mmpretrain)',
                                    'random initialisation'], report[:2000]
    assert all(0 <= float(v) <= 100 for r in rows for v in r[1:])
    for png in ('views.png', 'loss_curves.png', 'tsne.png'):
        assert osp.getsize(osp.join(work, png)) > 10_000, png
        assert f']({png})' in report
    # the exact commands to rerun each step are in the report
    assert 'python tools/train.py configs/contrawarp/byol_r18_synthetic.py' in report
    assert ('python tools/test.py '
            'configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb-synthetic64.py') in report
    assert '| k-NN top-1 (k=30) |' in report
    # The two pre-trainings produced different backbones from the same random init.
    import torch
    from mmfer.utils import load_checkpoint_file
    a = load_checkpoint_file(osp.join(work, 'contrawarp_byol', 'iter_4.pth'))['state_dict']
    b = load_checkpoint_file(osp.join(work, 'byol', 'iter_4.pth'))['state_dict']
    key = 'backbone.conv1.weight'
    assert not torch.equal(a[key], b[key])
    # A second run skips the finished steps.
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0
    assert proc.stdout.count('exists, skipped') == 4, proc.stdout[-3000:]
