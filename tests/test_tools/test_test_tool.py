# Copyright (c) mmfer contributors. All rights reserved.
"""tools/test.py end to end on tiny synthetic RAF-DB data: frozen features and the classic route."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from mmfer.registry import MODELS
from mmfer.utils import load_checkpoint_file

R18 = dict(type='ResNet', depth=18, out_indices=(3, ))
BN = dict(type='BN')


def _run(repo_root, *args, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, 'tools/test.py', *map(str, args)], cwd=repo_root,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _reference_feats(backbone_state, paths):
    """Features computed here, independently of the tool."""
    net = MODELS.build(dict(R18, norm_cfg=BN))
    net.load_state_dict(backbone_state)
    net.eval()
    x = torch.from_numpy(np.stack([cv2.imread(p) for p in paths])).permute(0, 3, 1, 2)
    x = x.float().flip(1)  # BGR -> RGB
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    with torch.no_grad():
        return net((x - mean) / std)[-1].mean((2, 3))


def _rafdb_paths(root, split):
    from mmfer.datasets import RAFDB
    ds = RAFDB(str(root), split=split)
    return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]


def _byol(seed=0):
    torch.manual_seed(seed)
    byol = MODELS.build(dict(
        type='BYOL', backbone=dict(R18, norm_cfg=BN),
        neck=dict(type='NonLinearNeck', in_channels=512, hid_channels=64, out_channels=32,
                  num_layers=2, with_avg_pool=True, norm_cfg=BN),
        head=dict(type='LatentPredictHead',
                  predictor=dict(type='NonLinearNeck', in_channels=32, hid_channels=64,
                                 out_channels=32, num_layers=2, with_avg_pool=False,
                                 norm_cfg=BN),
                  loss=dict(type='CosineSimilarityLoss'))))
    with torch.no_grad():  # non-trivial BN statistics so loading errors would show
        for m in byol.backbone.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return byol


def test_test_tool_ssl_checkpoints_cache_and_errors(tmp_path, tiny_eval_data, repo_root,
                                                    frozen_eval_config):
    cfg = frozen_eval_config('knn')
    # (a) an mmpretrain BYOL model: backbone.* + target_net.* + neck.* + head.*, whose
    #     target_net is perturbed (loading it by mistake would change the features)
    byol = _byol()
    state = {k: (v + 0.5 if k.startswith('target_net') and v.is_floating_point() else v)
             for k, v in byol.state_dict().items()}
    assert {k.split('.')[0] for k in state} >= {'backbone', 'target_net', 'neck', 'head'}
    ckpt = tmp_path / 'byol.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), ckpt)
    wd = tmp_path / 'wd'
    proc = _run(repo_root, cfg, ckpt, '--knn-k', '3', '100', '--work-dir', wd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.load(open(wd / 'metrics.json'))
    assert res['checkpoint_match'] == 'prefix' and res['world_size'] == 1
    assert (res['num_bank'], res['num_query'], res['feature_dim']) == (42, 14, 512)
    # k = 100 > 42 bank faces: reported as the k actually used
    assert set(res['knn']) == {'k=3', 'k=42'} and res['knn']['k=42']['k_requested'] == 100
    assert 'k-NN k=42 (exp, T=0.07)' in proc.stdout and 'k-NN k=100' not in proc.stdout
    assert 'k=100 > bank size 42; using k=42' in proc.stdout + proc.stderr
    lin = res['linear']
    assert lin['selection'] == 'validation' and lin['weight_decay'] in lin_grid(lin)
    assert 0 <= lin['accuracy'] <= 100 and len(lin['per_class_f1']) == 7
    # the cached features are those of the checkpoint's backbone, computed independently
    cache = {f.split('_')[0]: osp.join(wd, 'feature_cache', f)
             for f in os.listdir(wd / 'feature_cache') if f.endswith('.pt')}
    for name, split in (('bank', 'train'), ('query', 'test')):
        torch.testing.assert_close(
            load_checkpoint_file(cache[name])['feats'],
            _reference_feats(byol.backbone.state_dict(),
                             _rafdb_paths(tiny_eval_data / 'rafdb', split)),
            rtol=1e-4, atol=1e-4)
    # (b) re-run with --eval knn: features from the cache, identical k-NN numbers
    proc = _run(repo_root, cfg, ckpt, '--eval', 'knn', '--knn-k', '3', '100', '--work-dir', wd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (proc.stdout + proc.stderr).count('feature cache: reusing') == 2
    res2 = json.load(open(wd / 'metrics.json'))
    assert res2['knn'] == res['knn'] and 'linear' not in res2
    # (c) a checkpoint with nothing to load: a clear one-line error, exit code 1
    torch.save({'encoder.weight': torch.zeros(3)}, tmp_path / 'bad.pth')
    proc = _run(repo_root, cfg, tmp_path / 'bad.pth', '--work-dir', tmp_path / 'wd_bad')
    assert proc.returncode == 1
    assert 'No weights of checkpoint' in proc.stderr and 'bad.pth' in proc.stderr
    assert "no key starts with 'backbone.'" in proc.stderr


def lin_grid(lin):
    return [float(k.split('=')[1]) for k in lin['val']['accuracy']]


def test_test_tool_argument_errors(tmp_path, repo_root, frozen_eval_config):
    cfg = frozen_eval_config('knn')
    for args, msg in ((['--knn-t', '0'], 'argument --knn-t: must be > 0, got 0'),
                      (['--batch-size', '0'], 'argument --batch-size: must be > 0, got 0')):
        proc = _run(repo_root, cfg, 'x.pth', *args)
        assert proc.returncode == 2 and msg in proc.stderr, proc.stderr
    proc = _run(repo_root, cfg, 'x.pth', '--eval', 'fec')
    assert proc.returncode == 1
    assert "has no ['TripletAccuracy']" in proc.stderr


def test_test_tool_classic_runner_route(tmp_path, tiny_eval_data, repo_root):
    """A classifier config: test_dataloader + FERClsMetric through the model's predictions."""
    cfg = tmp_path / 'ft_tiny.py'
    base = osp.join(repo_root, 'configs/contrawarp/benchmarks/resnet18_1xb64-coslr-40e_rafdb.py')
    cfg.write_text(f"""
_base_ = [{base!r}]
model = dict(backbone=dict(norm_cfg=dict(type='BN')))
test_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={str(tiny_eval_data / 'rafdb')!r},
                 pipeline=[dict(type='LoadFaceImage'), dict(type='Resize', scale=(32, 32)),
                           dict(type='PackInputs')]))
test_evaluator = dict(type='FERClsMetric', num_classes=7, cm_dir='{tmp_path / "cm"}')
""")
    clf = MODELS.build(dict(type='ImageClassifier', backbone=dict(R18, norm_cfg=BN),
                            neck=dict(type='GlobalAveragePooling'),
                            head=dict(type='LinearClsHead', num_classes=7, in_channels=512)))
    torch.save(dict(state_dict=clf.state_dict(), meta=dict()), tmp_path / 'clf.pth')
    proc = _run(repo_root, cfg, tmp_path / 'clf.pth', '--work-dir', tmp_path / 'wd',
                '--out', tmp_path / 'out.json')
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.load(open(tmp_path / 'out.json'))
    # reference: the same classifier evaluated here
    paths = _rafdb_paths(tiny_eval_data / 'rafdb', 'test')
    from mmfer.datasets import RAFDB
    labels = RAFDB(str(tiny_eval_data / 'rafdb'), split='test').get_gt_labels()
    x = torch.from_numpy(np.stack([cv2.imread(p) for p in paths])).permute(0, 3, 1, 2)
    x = (x.float().flip(1) - torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)) / \
        torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    clf.eval()
    with torch.no_grad():
        pred = clf(x, mode='tensor').argmax(1).numpy()
    acc = 100 * float((pred == labels).mean())
    assert res['fer/accuracy'] == pytest.approx(acc, abs=1e-4)
    nested = json.load(open(tmp_path / 'wd' / 'metrics.json'))
    assert nested['fer']['accuracy'] == res['fer/accuracy']
    assert '| fer/accuracy' in proc.stdout
    assert (tmp_path / 'cm' / 'confusion_matrix_0.png').is_file()
    # the classifier's head must be in the checkpoint: testing a random head is an error
    torch.save({k: v for k, v in clf.state_dict().items() if k.startswith('backbone.')},
               tmp_path / 'ssl.pth')
    proc = _run(repo_root, cfg, tmp_path / 'ssl.pth', '--work-dir', tmp_path / 'wd2')
    assert proc.returncode == 1 and 'ssl.pth lacks 2 of the model' in proc.stderr


@pytest.mark.slow
def test_dist_test_two_cpu_processes_match_one(tmp_path, repo_root, frozen_eval_config,
                                               free_port):
    """tools/dist_test.sh (torchrun, 2 CPU processes, gloo): features gathered on rank 0,
    the same metrics as 1 process. (slow: two torchrun processes start, ~1 min on 2 cores)"""
    cfg = frozen_eval_config('knn')
    torch.manual_seed(1)
    net = MODELS.build(dict(R18, norm_cfg=BN))
    ckpt = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in net.state_dict().items()}),
               ckpt)
    proc = _run(repo_root, cfg, ckpt, '--eval', 'knn', 'linear', '--work-dir',
                tmp_path / 'wd_one')
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable, PORT=str(free_port))
    proc = subprocess.run(['bash', 'tools/dist_test.sh', cfg, str(ckpt), '2', '--eval', 'knn',
                           'linear', '--work-dir', str(tmp_path / 'wd_two')],
                          cwd=repo_root, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    one = json.load(open(tmp_path / 'wd_one' / 'metrics.json'))
    two = json.load(open(tmp_path / 'wd_two' / 'metrics.json'))
    assert one['world_size'] == 1 and two['world_size'] == 2
    assert two['num_bank'] == 42 and two['num_query'] == 14  # every sample exactly once
    assert two['knn'] == one['knn'] and two['linear'] == one['linear']
    # both ranks extracted a shard; only rank 0 evaluated and printed the table
    assert proc.stdout.count('| k-NN k=3') == 1
    for name in ('bank', 'query'):
        a = [f for f in os.listdir(tmp_path / 'wd_one' / 'feature_cache')
             if f.startswith(name) and f.endswith('.pt')]
        b = [f for f in os.listdir(tmp_path / 'wd_two' / 'feature_cache')
             if f.startswith(name) and f.endswith('.pt')]
        assert a == b  # the same cache key: same weights, configs and files
        torch.testing.assert_close(
            load_checkpoint_file(str(tmp_path / 'wd_one' / 'feature_cache' / a[0]))['feats'],
            load_checkpoint_file(str(tmp_path / 'wd_two' / 'feature_cache' / b[0]))['feats'])


def test_test_tool_refuses_non_finite_features(tmp_path, repo_root, frozen_eval_config):
    """Finite weights that overflow to inf/NaN features: a clear error, not a crashed probe."""
    cfg = frozen_eval_config('knn')
    net = MODELS.build(dict(R18, norm_cfg=BN))
    state = net.state_dict()
    state['conv1.weight'] = torch.full_like(state['conv1.weight'], 1e38)
    torch.save({f'backbone.{k}': v for k, v in state.items()}, tmp_path / 'overflow.pth')
    proc = _run(repo_root, cfg, tmp_path / 'overflow.pth', '--work-dir',
                tmp_path / 'wd_overflow')
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert re.search(r'tools/test.py: error: ValueError: \d+ of the 42 bank features are '
                     r'NaN/inf: the model overflows', proc.stderr), proc.stderr[-2000:]
    assert not osp.exists(tmp_path / 'wd_overflow' / 'metrics.json')
