# Copyright (c) mmfer contributors. All rights reserved.
"""FeatureMonitorHook: expression k-NN, identity 1-NN and effective rank of the model being
trained, logged to the message hub, scalars.json and the log; in one process and under torchrun
with 2 CPU processes."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmfer.apis.ssl_study import METHODS, PRESETS, monitor_hook, run_config, train_in_process
from mmfer.engine import FeatureMonitorHook
from mmfer.evaluation import extract_features, identity_nn_accuracy, knn_accuracy

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
KEYS = ('monitor/knn/k=10/accuracy', 'monitor/knn/k=30/accuracy',
        'monitor/identity_nn/accuracy', 'monitor/feature_rank/effective_rank')


def _rows(work_dir):
    rows = []
    for f in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        rows += [json.loads(line) for line in open(f) if line.strip()]
    return [r for r in rows if KEYS[0] in r]


def _byol_cfg(data, work_dir, iters=4, interval=2):
    preset = PRESETS['tiny']
    hook = monitor_hook(preset, data['roots']['rafdb'], interval=interval)
    return run_config(METHODS['byol'].config, preset, 0, work_dir, data['roots']['pretrain'],
                      monitor=hook, iters=iters)


def test_monitor_logs_at_start_every_interval_and_at_the_end(ssl_study_tiny_data, tmp_path):
    work = str(tmp_path / 'byol')
    train_in_process(_byol_cfg(ssl_study_tiny_data, work, iters=5, interval=2))
    rows = _rows(work)
    assert [r['step'] for r in rows] == [0, 2, 4, 5]       # start, every 2, the end
    for r in rows:
        assert set(KEYS) <= set(r)
        assert 0 <= r[KEYS[0]] <= 100 and 0 <= r[KEYS[2]] <= 100 and r[KEYS[3]] >= 1
        assert not any(k.endswith(('/k', '/temperature')) for k in r)
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert log.count('monitor @ iter') == 4
    assert 'monitor @ iter 2: expression k-NN@10' in log and 'identity 1-NN' in log


def test_measure_matches_the_pure_functions_and_restores_train_mode(ssl_study_tiny_data,
                                                                    tmp_path):
    from mmfer.registry import RUNNERS
    cfg = _byol_cfg(ssl_study_tiny_data, str(tmp_path / 'w'))
    hook_cfg = cfg.custom_hooks[-1]
    cfg.custom_hooks = cfg.custom_hooks[:-1]
    runner = RUNNERS.build(cfg)
    hook = FeatureMonitorHook(**{k: v for k, v in hook_cfg.items() if k != 'type'})
    runner.model.train()
    values = hook.measure(runner, 7)
    assert runner.model.training and runner.model.backbone.training
    # the same numbers from extract_features + the pure metric functions
    feats = {n: extract_features(runner.model, hook._loader(runner, n), progress=False)
             for n in ('bank', 'query')}
    knn = knn_accuracy(feats['bank']['feats'], feats['bank']['gt_label'],
                       feats['query']['feats'], feats['query']['gt_label'], topk=(10, ),
                       num_classes=7)
    assert values['monitor/knn/k=10/accuracy'] == pytest.approx(100 * knn[10]['accuracy'])
    ident = identity_nn_accuracy(feats['query']['feats'], feats['query']['identity'])
    assert values['monitor/identity_nn/accuracy'] == pytest.approx(100 * ident['accuracy'])
    assert runner.message_hub.get_scalar('monitor/knn/k=10/accuracy').current() == \
        pytest.approx(values['monitor/knn/k=10/accuracy'])
    # bank and query are different people (the study's identity-disjoint split)
    assert not set(feats['bank']['identity'].tolist()) & set(feats['query']['identity'].tolist())
    assert hook.history[-1]['step'] == 7


@pytest.mark.parametrize('kwargs,match', [
    (dict(interval=0), 'interval must be a positive integer'),
    (dict(bank=[1, 2]), 'bank must be a dataloader config'),
    (dict(knn_k=(0, )), 'knn_k must be positive integers')])
def test_bad_arguments(kwargs, match):
    args = dict(interval=5, bank=dict(type='RAFDB', data_root='x'),
                query=dict(type='RAFDB', data_root='x'))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        FeatureMonitorHook(**args)


def test_monitor_under_torchrun_two_cpu_processes(ssl_study_tiny_data, tmp_path, free_port):
    """Every rank extracts its shard, rank 0 computes, every rank continues (no deadlock): the
    values are logged once per measurement, equal to a single-process measurement."""
    data = ssl_study_tiny_data
    work = str(tmp_path / 'dist')
    hook = monitor_hook(PRESETS['tiny'], data['roots']['rafdb'], interval=2)
    cfg_file = tmp_path / 'byol_monitor.py'
    cfg_file.write_text(
        f"_base_ = [{osp.join(REPO, METHODS['byol'].config)!r}]\n"
        f"train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,\n"
        f"    dataset=dict(data_root={data['roots']['pretrain']!r}))\n"
        "max_iters = 4\n"
        "train_cfg = dict(max_iters=4)\n"
        "param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,"
        " end=1), dict(type='CosineAnnealingLR', T_max=3, by_epoch=False, begin=1, end=4)]\n"
        "default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=1))\n"
        f"custom_hooks = [dict(type='EMAMomentumLoggerHook'), {hook!r}]\n")
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO, PYTHON=sys.executable,
               PORT=str(free_port))
    proc = subprocess.run(['bash', 'tools/dist_train.sh', str(cfg_file), '2', '--work-dir',
                           work, '--quiet'], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + '\n' + proc.stderr[-4000:]
    rows = _rows(work)
    assert [r['step'] for r in rows] == [0, 2, 4]
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'Distributed training: True' in log and log.count('monitor @ iter') == 3
    # --quiet: progress and monitor lines on the console, not the config or init messages
    assert 'monitor @ iter 2' in proc.stdout and 'Config:' not in proc.stdout
    assert 'is skipped since its requires_grad=False' not in proc.stdout
    assert np.isfinite([r[k] for r in rows for k in KEYS]).all()
    # rank 0 evaluated every sample of both sets (the shards were gathered): before training
    # the 2-process values equal those of a single-process run of the same config
    from mmengine.config import Config
    cfg = Config.fromfile(str(cfg_file))
    cfg.work_dir = str(tmp_path / 'single')
    train_in_process(cfg)
    single = _rows(cfg.work_dir)[0]
    for key in KEYS:
        assert rows[0][key] == pytest.approx(single[key], rel=1e-4, abs=1e-4), key
