# Copyright (c) mmfer contributors. All rights reserved.
"""tools/test.py end to end on tiny synthetic data in the RAF-DB and FEC formats."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from mmfer.evaluation.backbone_weights import (CheckpointKeyError, load_backbone_weights)
from mmfer.evaluation.features import pool_features
from mmfer.registry import MODELS

R18 = dict(type='ResNet', depth=18, out_indices=(3, ))
BN = dict(type='BN')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """RAF-DB (42 train / 14 test, 32 px) and FEC (8 triplets) written from synthetic faces."""
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    from mmfer.datasets.synthetic.writers import write_rafdb
    root = tmp_path_factory.mktemp('eval_data')
    write_rafdb(str(root / 'rafdb'), num_train=42, num_test=14, image_size=32, seed=0,
                num_identities=8)
    gen = SyntheticFaceGenerator(32, seed=1)
    fec = root / 'fec'
    (fec / 'images').mkdir(parents=True)
    (fec / 'annotations').mkdir()
    rows = ['image1,image2,image3,odd_one_out,triplet_type']
    exprs = ['happiness', 'sadness', 'surprise', 'anger']
    for t in range(8):
        same, other = exprs[t % 4], exprs[(t + 1) % 4]
        odd = t % 3
        names = []
        for j in range(3):
            face = gen.render(identity=t + j, expression=other if j == odd else same,
                              seed=100 * t + j)
            names.append(f't{t}_{j}.jpg')
            cv2.imwrite(str(fec / 'images' / names[-1]), face['img'])
        rows.append(','.join(names + [str(odd + 1), 'TWO_CLASS_TRIPLET']))
    (fec / 'annotations' / 'test.csv').write_text('\n'.join(rows) + '\n')
    return root


def _config(tmp_path, data, repo_root):
    cfg = tmp_path / 'knn_tiny.py'
    base = osp.join(repo_root, 'configs/benchmarks/knn_rafdb_r18.py')
    cfg.write_text(f"""
_base_ = [{base!r}]
model = dict(backbone=dict(norm_cfg=dict(type='BN')))
pipe = [dict(type='LoadFaceImage'), dict(type='Resize', scale=(32, 32)),
        dict(type='PackInputs')]
feature_eval = dict(
    train_dataset=dict(data_root={str(data / 'rafdb')!r}, pipeline=pipe),
    test_dataset=dict(data_root={str(data / 'rafdb')!r}, pipeline=pipe),
    fec_dataset=dict(type='FEC', data_root={str(data / 'fec')!r}, split='test'),
    fec_pipeline=pipe, batch_size=16, num_workers=0,
    knn=dict(k=[3, 10]), linear=dict(epochs=20))
""")
    return str(cfg)


def _run(repo_root, *args, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, 'tools/test.py', *map(str, args)], cwd=repo_root,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _expected_feats(backbone_state, data):
    """Reference features of the FEC images computed here, independently of the tool."""
    net = MODELS.build(dict(R18, norm_cfg=BN))
    net.load_state_dict(backbone_state)
    net.eval()
    names = sorted(os.listdir(data / 'fec' / 'images'))
    imgs = np.stack([cv2.imread(str(data / 'fec' / 'images' / n)) for n in names])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().flip(1)  # BGR -> RGB
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    with torch.no_grad():
        return pool_features(net((x - mean) / std))


def _check_metrics(work_dir, data, backbone_state, n_train=42, n_test=14):
    res = json.load(open(osp.join(work_dir, 'metrics.json')))
    assert res['num_train'] == n_train and res['num_test'] == n_test
    assert res['feature_dim'] == 512
    assert set(res['knn']) == {'k=3', 'k=10'}
    for r in list(res['knn'].values()) + [res['linear']]:
        assert 0 <= r['accuracy'] <= 100 and 0 <= r['macro_f1'] <= 100
    assert res['fec']['num_triplets'] == 8 and res['fec']['num_images'] == 24
    # the cached features are those of the checkpoint's backbone, computed independently
    from mmfer.evaluation import triplet_accuracy
    from mmfer.utils import load_checkpoint_file
    feats = _expected_feats(backbone_state, data)
    cache_dir = osp.join(work_dir, 'feature_cache')
    fec_cache = [f for f in os.listdir(cache_dir) if f.startswith('fec_')]
    assert len(fec_cache) == 1
    cached = load_checkpoint_file(osp.join(cache_dir, fec_cache[0]))['feats']
    torch.testing.assert_close(cached, feats, rtol=1e-4, atol=1e-4)
    # and the FEC accuracy equals the one computed from them
    idx = np.arange(24).reshape(8, 3)  # t{t}_{j}.jpg sorted = triplet order
    odd = np.arange(8) % 3
    for m in ('l2', 'cosine'):
        exp = 100 * triplet_accuracy(feats[idx[:, 0]], feats[idx[:, 1]], feats[idx[:, 2]],
                                     odd, m)
        assert res['fec'][f'accuracy_{m}'] == pytest.approx(exp, abs=1e-6)
    return res


def test_test_tool_byol_and_contrawarp_checkpoints(tmp_path, data, repo_root):
    cfg = _config(tmp_path, data, repo_root)
    torch.manual_seed(0)
    # (a) a plain mmpretrain BYOL model built from an mmfer-scope config
    byol = MODELS.build(dict(
        type='BYOL', backbone=dict(R18, norm_cfg=BN),
        neck=dict(type='NonLinearNeck', in_channels=512, hid_channels=64, out_channels=32,
                  num_layers=2, with_avg_pool=True, norm_cfg=BN),
        head=dict(type='LatentPredictHead',
                  predictor=dict(type='NonLinearNeck', in_channels=32, hid_channels=64,
                                 out_channels=32, num_layers=2, with_avg_pool=False,
                                 norm_cfg=BN),
                  loss=dict(type='CosineSimilarityLoss'))))
    with torch.no_grad():  # make BN statistics non-trivial so loading errors would show
        for m in byol.backbone.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    byol_ckpt = tmp_path / 'byol.pth'
    torch.save(dict(state_dict=byol.state_dict(), meta=dict(epoch=1)), byol_ckpt)
    assert any(k.startswith('target_net.') for k in byol.state_dict())
    proc = _run(repo_root, cfg, byol_ckpt, '--eval', 'knn', 'linear', 'fec',
                '--work-dir', tmp_path / 'wd_byol')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'k-NN k=3' in proc.stdout and 'FEC triplet acc. (cosine)' in proc.stdout
    _check_metrics(tmp_path / 'wd_byol', data, byol.backbone.state_dict())

    # (b) a real ContraWarpBYOL (mmfer) with the landmark branch: backbone.* + target_net.*
    #     + neck.* + head.* + landmark_head.*; target_net is perturbed so that loading it by
    #     mistake would change the features
    from mmengine.config import Config
    m = Config.fromfile(osp.join(repo_root, 'configs/_base_/models/contrawarp_byol_r18.py')).model
    m.backbone.norm_cfg = m.neck.norm_cfg = m.head.predictor.norm_cfg = BN
    m.neck.hid_channels = m.head.predictor.hid_channels = 64
    m.neck.out_channels = m.head.predictor.in_channels = m.head.predictor.out_channels = 32
    m.landmark_head = dict(type='LandmarkHeatmapHead', in_channels=512)
    cw = MODELS.build(m)
    state = cw.state_dict()
    assert {k.split('.')[0] for k in state} >= {'backbone', 'target_net', 'landmark_head'}
    state = {k: (v + 0.5 if k.startswith('target_net') and v.is_floating_point() else v)
             for k, v in state.items()}
    backbone = cw.backbone
    cw_ckpt = tmp_path / 'contrawarp.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), cw_ckpt)
    wd = tmp_path / 'wd_cw'
    proc = _run(repo_root, cfg, cw_ckpt, '--eval', 'knn', 'linear', 'fec', '--knn-k', '3',
                '10', '--work-dir', wd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = _check_metrics(wd, data, backbone.state_dict())
    assert res['checkpoint_match'] == 'prefix'
    caches = sorted(os.listdir(wd / 'feature_cache'))
    assert [c.split('_')[0] for c in caches] == ['fec', 'test', 'train']
    # re-run: features come from the cache, metrics are identical
    proc = _run(repo_root, cfg, cw_ckpt, '--eval', 'knn', 'linear', '--work-dir', wd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (proc.stdout + proc.stderr).count('loaded cached features') == 2
    res2 = json.load(open(wd / 'metrics.json'))
    assert res2['knn'] == res['knn'] and res2['linear'] == res['linear']

    # (c) a checkpoint with nothing to load: clear error, exit code 1
    bad = tmp_path / 'bad.pth'
    torch.save({'encoder.weight': torch.zeros(3)}, bad)
    proc = _run(repo_root, cfg, bad, '--eval', 'knn', '--work-dir', tmp_path / 'wd_bad')
    assert proc.returncode == 1
    assert 'No weights of checkpoint' in proc.stderr and 'bad.pth' in proc.stderr


def test_backbone_weights_torchvision_and_errors(tmp_path):
    torchvision = pytest.importorskip('torchvision')
    tv = torchvision.models.resnet18()
    torch.nn.init.normal_(tv.layer4[1].conv2.weight)
    path = tmp_path / 'tv.pth'
    torch.save(tv.state_dict(), path)  # plain keys: conv1., bn1., layer1..4., fc.
    net = MODELS.build(dict(R18, norm_cfg=BN))
    info = load_backbone_weights(net, str(path), prefix='backbone.')
    assert info == dict(matched='plain', num_loaded=120, num_ignored=2)  # fc.weight, fc.bias
    torch.testing.assert_close(net.layer4[1].conv2.weight, tv.layer4[1].conv2.weight)
    net.eval()
    tv.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = torch.flatten(tv.avgpool(tv.layer4(tv.layer3(tv.layer2(tv.layer1(
            tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))), 1)
        torch.testing.assert_close(pool_features(net(x)), ref)
    # DDP 'module.' prefixes are stripped; a deeper backbone reports missing weights
    torch.save({'state_dict': {f'module.backbone.{k}': v for k, v in net.state_dict().items()}},
               tmp_path / 'ddp.pth')
    assert load_backbone_weights(MODELS.build(dict(R18, norm_cfg=BN)),
                                 str(tmp_path / 'ddp.pth'))['matched'] == 'prefix'
    with pytest.raises(CheckpointKeyError, match='lacks .* backbone weights'):
        load_backbone_weights(MODELS.build(dict(type='ResNet', depth=34)), str(path))
    sd = tv.state_dict()
    sd['layer4.1.conv2.weight'] = sd['layer4.1.conv2.weight'][:, :256]
    torch.save(sd, tmp_path / 'cut.pth')
    with pytest.raises(CheckpointKeyError, match='shape mismatch .*layer4.1.conv2.weight'):
        load_backbone_weights(net, str(tmp_path / 'cut.pth'))
    # a diverged run's checkpoint (NaN weights or BN statistics) is refused before any feature
    sd = tv.state_dict()
    sd['layer2.0.bn1.running_var'] = torch.full_like(sd['layer2.0.bn1.running_var'], float('nan'))
    torch.save(sd, tmp_path / 'nan.pth')
    with pytest.raises(CheckpointKeyError, match=r'nan.pth: 1 backbone tensors hold NaN/inf.*'
                       r'layer2.0.bn1.running_var.*diverged'):
        load_backbone_weights(net, str(tmp_path / 'nan.pth'))


def test_test_tool_classic_runner_route(tmp_path, data, repo_root):
    """Without --eval: config test_dataloader + FERClsMetric through mmengine's Runner."""
    cfg = tmp_path / 'ft_tiny.py'
    base = osp.join(repo_root, 'configs/benchmarks/finetune_rafdb_r18.py')
    cfg.write_text(f"""
_base_ = [{base!r}]
model = dict(backbone=dict(norm_cfg=dict(type='BN')))
test_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={str(data / 'rafdb')!r},
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
    from mmfer.datasets import RAFDB
    ds = RAFDB(str(data / 'rafdb'), split='test')
    imgs = np.stack([cv2.imread(ds.get_data_info(i)['img_path']) for i in range(len(ds))])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().flip(1)
    x = (x - torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)) / \
        torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    clf.eval()
    with torch.no_grad():
        pred = clf(x, mode='tensor').argmax(1).numpy()
    acc = 100 * float((pred == ds.get_gt_labels()).mean())
    assert res['fer/accuracy'] == pytest.approx(acc, abs=1e-4)
    assert (tmp_path / 'cm' / 'confusion_matrix_0.png').is_file()


def test_dist_test_two_cpu_processes_match_one(tmp_path, data, repo_root):
    """tools/dist_test.sh (torchrun, 2 CPU processes, gloo): the same metrics as 1 process."""
    cfg = _config(tmp_path, data, repo_root)
    torch.manual_seed(1)
    net = MODELS.build(dict(R18, norm_cfg=BN))
    ckpt = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in net.state_dict().items()}),
               ckpt)
    args = ['--eval', 'knn', 'linear', 'fec']
    proc = _run(repo_root, cfg, ckpt, *args, '--work-dir', tmp_path / 'wd_one')
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PORT=str(29700 + os.getpid() % 1000))
    proc = subprocess.run(['bash', 'tools/dist_test.sh', cfg, str(ckpt), '2', *args,
                           '--work-dir', str(tmp_path / 'wd_two')],
                          cwd=repo_root, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    one = json.load(open(tmp_path / 'wd_one' / 'metrics.json'))
    two = json.load(open(tmp_path / 'wd_two' / 'metrics.json'))
    assert one['world_size'] == 1 and two['world_size'] == 2
    assert two['num_train'] == 42 and two['num_test'] == 14  # every sample exactly once
    assert set(two['knn']) == {'k=3', 'k=10'}
    for k, r in one['knn'].items():
        assert two['knn'][k] == pytest.approx(r, abs=1e-6), k
    assert two['fec'] == pytest.approx(one['fec'], abs=1e-6)
    for m in ('accuracy', 'macro_f1'):
        assert two['linear'][m] == pytest.approx(one['linear'][m], abs=1e-6)


def test_test_tool_refuses_non_finite_features(tmp_path, data, repo_root):
    """Finite weights that overflow to inf/NaN features: a clear error, not a crashed probe."""
    cfg = _config(tmp_path, data, repo_root)
    net = MODELS.build(dict(R18, norm_cfg=BN))
    state = net.state_dict()
    state['conv1.weight'] = torch.full_like(state['conv1.weight'], 1e38)
    torch.save({f'backbone.{k}': v for k, v in state.items()}, tmp_path / 'overflow.pth')
    proc = _run(repo_root, cfg, tmp_path / 'overflow.pth', '--eval', 'knn', 'linear',
                '--work-dir', tmp_path / 'wd_overflow')
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'of the 42 train features of' in proc.stderr and 'overflow.pth' in proc.stderr
    assert 'are NaN/inf' in proc.stderr
    assert not osp.exists(tmp_path / 'wd_overflow' / 'metrics.json')
