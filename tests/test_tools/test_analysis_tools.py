# Copyright (c) mmfer contributors. All rights reserved.
"""Log analysis (mmfer.visualization.log_analysis + tools/analysis_tools/analyze_logs.py) on
logs written by mmengine's LocalVisBackend, and tools/analysis_tools/get_flops.py."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from mmengine.visualization import LocalVisBackend

from mmfer.visualization.log_analysis import (cal_train_time, find_scalar_files, load_scalars,
                                              plot_curves)


def _launch(work_dir, timestamp, train_rows, val_rows=()):
    """One launch's vis_data/scalars.json, written the way mmengine's LoggerHook does."""
    backend = LocalVisBackend(save_dir=os.path.join(work_dir, timestamp, 'vis_data'))
    for step, row in train_rows:
        backend.add_scalars(row, step=step)
    for step, row in val_rows:
        backend.add_scalars(row, step=step)


@pytest.fixture
def resumed_work_dir(tmp_path):
    """A run logged at steps 10-30, killed, resumed from the step-20 checkpoint to 40."""
    work = str(tmp_path / 'work')
    _launch(work, '20260101_000000',
            [(s, dict(lr=0.1, loss=10.0 / s, time=0.5, data_time=0.1)) for s in (10, 20, 30)],
            [(20, {'fer/accuracy': 40.0, 'time': 0.2})])
    _launch(work, '20260101_010000',
            [(s, dict(lr=0.05, loss=9.0 / s, time=1.0, data_time=0.3)) for s in (30, 40)],
            [(40, {'fer/accuracy': 55.0, 'time': 0.2})])
    return work


def test_resumed_launches_are_merged(resumed_work_dir):
    assert len(find_scalar_files(resumed_work_dir)) == 2
    log = load_scalars(resumed_work_dir)
    assert [r['step'] for r in log['train']] == [10, 20, 30, 40]
    # the resumed launch wins the repeated step 30
    assert log['train'][2]['loss'] == pytest.approx(9.0 / 30) and log['train'][2]['run'] == 1
    assert [(r['step'], r['fer/accuracy']) for r in log['val']] == [(20, 40.0), (40, 55.0)]
    t = cal_train_time(log['train'])
    assert t['iters'] == 40
    assert t['mean'] == pytest.approx(np.mean([0.5, 0.5, 1.0, 1.0]))
    assert t['max'] == 1.0 and t['min'] == 0.5
    assert t['mean_data_time'] == pytest.approx(0.2)
    assert t['total_hours'] == pytest.approx(0.75 * 40 / 3600)


def test_plot_curves(resumed_work_dir, tmp_path):
    log = load_scalars(resumed_work_dir)
    out, n = plot_curves({'a': log['train'], 'b': log['train'][:2]}, ['loss', 'lr'],
                         str(tmp_path / 'c.png'))
    assert n == 4 and os.path.getsize(out) > 1000
    with pytest.raises(ValueError, match=r"none of the keys \['acc'\].*'loss'"):
        plot_curves({'a': log['train']}, ['acc'], str(tmp_path / 'x.png'))


def test_bad_logs_name_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match='no vis_data/scalars.json under'):
        load_scalars(str(tmp_path))
    bad = tmp_path / 'scalars.json'
    bad.write_text('{"loss": 1, "step": 1}\n{"loss": \n')
    with pytest.raises(ValueError, match=r'scalars.json:2: not a JSON object'):
        load_scalars(str(bad))


def test_plot_curve_cli(resumed_work_dir, tmp_path, repo_root):
    out = tmp_path / 'val.png'
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/analyze_logs.py', 'plot_curve',
         resumed_work_dir, '--keys', 'fer/accuracy', '--val', '--out', str(out)],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'wrote' in proc.stdout and '(1 curves)' in proc.stdout and out.is_file()


def test_cal_train_time_cli(resumed_work_dir, repo_root):
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/analyze_logs.py', 'cal_train_time',
         resumed_work_dir], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '40 iterations, 0.7500 s/iter' in proc.stdout


def test_get_flops_cli(repo_root):
    from mmfer.apis.deployment import init_model
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/get_flops.py',
         'tests/data/configs/tiny_va_spatialflatten.py', '--shape', '96'],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    params = int(re.search(r'Params: \S+\s+\((\d+)\)', proc.stdout).group(1))
    model = init_model(os.path.join(repo_root, 'tests/data/configs/tiny_va_spatialflatten.py'))
    assert params == sum(p.numel() for p in model.parameters())
    flops = int(re.search(r'FLOPs: \S+\s+\((\d+)\)', proc.stdout).group(1))
    # the stem conv alone: 7x7x3 -> 8 channels on 48x48 = 8 * 147 * 2304 multiply-adds
    assert flops > 8 * 147 * 48 * 48
