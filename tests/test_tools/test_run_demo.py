# Copyright (c) mmfer contributors. All rights reserved.
"""`make demo` (tools/demo.sh -> tools/misc/run_demo.py -> mmfer.apis.ssl_study) at the tiny
preset: a quiet console, a complete report, and a re-run that reuses the finished runs."""
import os
import os.path as osp
import subprocess
import sys

import pytest


@pytest.mark.slow  # a subprocess that imports the OpenMMLab stack and pre-trains: ~40 s
def test_demo_is_quiet_complete_and_resumable(tmp_path, repo_root):
    work, data = str(tmp_path / 'demo'), str(tmp_path / 'data')
    cmd = ['bash', 'tools/demo.sh', '--preset', 'tiny', '--work-dir', work, '--data-root', data,
           '--methods', 'random_init', 'byol']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=repo_root, PYTHON=sys.executable)
    proc = subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    console = proc.stdout + proc.stderr
    # progress and results only: one line per step and run, the table; no config dump, no
    # per-parameter initialisation or optimizer messages, no import warnings
    assert len(console.splitlines()) < 40, console
    for noise in ('Config:', 'requires_grad=False', 'Initialization information',
                  'MultiScaleDeformableAttention', 'Iter(train)',
                  'unknown top-level config key'):
        assert noise not in console, noise
    assert '[ 2/2] seed 0 BYOL: 4 it in' in console
    report = open(osp.join(work, 'report.md')).read()
    assert '| random init |' in report and '| BYOL |' in report
    # the full logs are in the work dir
    assert osp.isfile(osp.join(work, 'study_full.log')) and osp.isfile(osp.join(work,
                                                                                 'study.log'))
    run_logs = [f for d, _, fs in os.walk(osp.join(work, 'runs', 'byol')) for f in fs
                if f.endswith('.log')]
    assert run_logs
    proc = subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0
    assert proc.stdout.count('done earlier') == 2, proc.stdout


@pytest.mark.slow  # a subprocess that imports the OpenMMLab stack: ~15 s
def test_ssl_benchmark_tool_runs_a_preset(tmp_path, repo_root):
    """tools/misc/ssl_benchmark.py (the study's CLI beside make demo): a preset, a subset of
    rows, its own work dir; bad arguments are refused by argparse."""
    work, data = str(tmp_path / 'study'), str(tmp_path / 'data')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=repo_root)
    cmd = [sys.executable, 'tools/misc/ssl_benchmark.py', '--preset', 'tiny', '--work-dir', work,
           '--data-root', data, '--methods', 'random_init', '--no-figures']
    proc = subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '] seed 0 random init: random weights | k-NN@10 ' in proc.stdout
    report = open(osp.join(work, 'report.md')).read()
    assert '| random init |' in report and '| BYOL |' not in report
    assert not [f for f in os.listdir(work) if f.endswith('.png')]  # --no-figures
    bad = subprocess.run(cmd[:2] + ['--preset', 'huge'], cwd=repo_root, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "invalid choice: 'huge'" in bad.stderr
