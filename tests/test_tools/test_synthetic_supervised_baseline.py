# Copyright (c) mmfer contributors. All rights reserved.
"""tools/misc/synthetic_supervised_baseline.py: a thin CLI over
mmfer.apis.supervised_baseline; trains a config's backbone with labels, reports unseen-people
accuracy and the leakage check."""
import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow  # a subprocess that imports the OpenMMLab stack, trains and tests: ~40 s
def test_supervised_baseline_tool(tmp_path, repo_root):
    out = tmp_path / 'res.json'
    cmd = [sys.executable, 'tools/misc/synthetic_supervised_baseline.py', '--data-root',
           str(tmp_path / 'data'), '--num', '80', '--num-identities', '16', '--iters', '4',
           '--batch-size', '8', '--work-dir', str(tmp_path / 'work'), '--out', str(out)]
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=repo_root))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'synthetic supervised baseline' in proc.stdout
    res = json.loads(out.read_text())
    assert res['iters'] == 4 and res['config'].endswith('byol_resnet18-w16_1xb64-sgd-coslr_'
                                                        'synthetic48.py')
    assert 0 <= res['test_accuracy_unseen_people'] <= 100
    assert res['bank_identities'] + res['test_identities'] <= 16
    lk = res['leakage']
    assert lk['chi2_dof'] > 0 and 0.0 <= lk['chi2_p_value'] <= 1.0 and lk['num_queries'] > 0
    # quiet console: no per-parameter messages or config dump
    assert 'Config:' not in proc.stdout and 'requires_grad=False' not in proc.stdout
    assert 'wrote' in proc.stdout   # the synthetic RAF-DB layout, once
