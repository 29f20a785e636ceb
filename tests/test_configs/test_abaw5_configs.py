# Copyright (c) mmfer contributors. All rights reserved.
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS
from mmfer.utils import load_checkpoint_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(REPO, 'configs', 'abaw5')
R50 = 'abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2'
R18 = 'abaw5_resnet18-spatialflatten_1xb128-sgd-coslr-8k_affwild2'
EXPR_R50 = f'configs/abaw5/{R50}-expr.py'

# 160x160 crops -> ResNet map 5x5 -> SpatialFlatten 4x4 -> 2x2 -> 1024-d (the checks in the
# neck make a forgotten override fail loudly; 2x2 keeps BN valid for a last batch of 1).
TINY = {
    'model.neck.input_size': 5,
    'model.head.in_channels': 1024,
    'train_dataloader.dataset.pipeline.1.scale': (176, 176),
    'train_dataloader.dataset.pipeline.2.crop_size': 160,
    'val_dataloader.dataset.pipeline.1.scale': (176, 176),
    'val_dataloader.dataset.pipeline.2.crop_size': 160,
}
RES18 = {'model.backbone.depth': 18, 'model.neck.in_channels': 512}


def _cli(options: dict) -> list:
    return [f'{k}={v}'.replace(' ', '') for k, v in options.items()]


@pytest.mark.parametrize('name,head,metric', [
    (f'{R50}-expr', 'LinearClsHead', 'FERClsMetric'),
    (f'{R18}-expr', 'LinearClsHead', 'FERClsMetric'),
    (f'{R50}-va', 'VARegressionHead', 'VAMetric'),
    (f'{R50}-au', 'MaskedMultiLabelLinearClsHead', 'AUF1Metric'),
])
def test_configs_build_consistently(name, head, metric):
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    assert cfg.model.type == 'ImageClassifier' and cfg.model.head.type == head
    assert cfg.model.backbone.frozen_stages == 2
    assert cfg.model.backbone.depth == (18 if name.startswith(R18) else 50)
    # Sec. 3.2: SGD, lr 5e-3, cosine; momentum / weight decay from the authors' release
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.optimizer.lr == 5e-3
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.01
    assert cfg.model.neck.strides == (1, 2) and cfg.model.neck.kernel_size == 2
    assert cfg.model.neck.channels == 256
    assert cfg.param_scheduler.type == 'CosineAnnealingLR'
    assert cfg.train_cfg.max_iters == 8000 and cfg.train_dataloader.batch_size == 128
    assert cfg.train_dataloader.dataset.frame_interval == 10
    assert cfg.train_dataloader.sampler.type == 'VideoFrameSampler'
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline][2:4] == [
        'RandomCrop', 'RandomFlip']
    assert cfg.val_evaluator.type == metric
    from mmfer.registry import METRICS
    assert METRICS.get(metric) is not None
    neck = MODELS.build(cfg.model.neck)
    assert neck.out_channels == cfg.model.head.in_channels == 2304
    neck.check_head_in_channels(cfg.model.head.in_channels)


def _batch(n=4, size=160, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
              for _ in range(n)]
    samples = [DataSample().set_gt_label(i % 8) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def test_frozen_stages_receive_no_updates():
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{R18}-expr.py'))
    cfg.merge_from_dict(TINY)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    backbone = model.backbone
    frozen = [backbone.conv1, backbone.norm1, backbone.layer1, backbone.layer2]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert not backbone.layer1[0].bn1.training and backbone.layer3[0].bn1.training
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    for step in range(3):
        losses = model.train_step(_batch(seed=step), optim)
        assert torch.isfinite(losses['loss'])
    after = model.state_dict()
    frozen_prefixes = ('backbone.conv1.', 'backbone.norm1.', 'backbone.layer1.',
                       'backbone.layer2.')
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    # weights and BN statistics of the stem and the first two stages never change
    assert not [k for k in changed if k.startswith(frozen_prefixes)]
    for prefix in ('backbone.layer3.', 'backbone.layer4.', 'neck.', 'head.'):
        assert any(k.startswith(prefix) for k in changed), prefix
    assert 'backbone.layer4.1.bn2.running_mean' in changed


def _write_tree(root):
    from mmfer.datasets.synthetic.writers import write_affwild2
    return write_affwild2(root, num_videos=4, frames_per_video=12, image_size=48, seed=1)


def _contrawarp_checkpoint(path):
    torch.manual_seed(1)
    backbone = MODELS.build(dict(type='ResNet', depth=18))
    for p in backbone.parameters():
        torch.nn.init.normal_(p, std=0.05)
    sd = {}
    for k, v in backbone.state_dict().items():
        sd[f'backbone.{k}'] = v.clone()
        sd[f'target_net.module.0.{k}'] = v.clone() + 1
    sd['neck.mlp.0.weight'] = torch.randn(8, 512)
    sd['head.predictor.mlp.0.weight'] = torch.randn(8, 8)
    sd['landmark_head.final_layer.weight'] = torch.randn(68, 256, 1, 1)
    torch.save({'meta': {}, 'state_dict': sd}, path)
    return backbone.state_dict()


def _train_options(data_root, ckpt):
    opts = dict(RES18)
    opts.update(TINY)
    opts.update({
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'model.backbone.init_cfg.checkpoint': ckpt,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'val_dataloader.batch_size': 16,
        'train_cfg.max_iters': 3,
        'train_cfg.val_interval': 3,
        'param_scheduler.T_max': 3,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 3,
        'default_hooks.checkpoint.save_best': None,
    })
    return _cli(opts)


def _check_run(work_dir, init_backbone):
    ckpt = load_checkpoint_file(osp.join(work_dir, 'iter_3.pth'))
    sd = ckpt['state_dict']
    for k, v in init_backbone.items():
        key = 'backbone.' + k
        frozen = k.startswith(('conv1.', 'norm1.', 'layer1.', 'layer2.'))
        if frozen or 'num_batches_tracked' in k:
            if frozen:  # loaded from the ContraWarping file and never updated
                assert torch.equal(sd[key], v), key
        elif k.endswith('weight') and 'conv' in k:
            assert not torch.equal(sd[key], v), key  # fine-tuned
    assert sd['head.fc.weight'].shape == (8, 1024)
    assert not any(k.startswith(('target_net', 'landmark_head')) for k in sd)


def _env():
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    return env


@pytest.fixture(scope='module')
def tiny_release(tmp_path_factory):
    """A synthetic Aff-Wild2 tree and a ContraWarping-like checkpoint (ResNet-18)."""
    tmp = tmp_path_factory.mktemp('abaw5')
    data_root = str(tmp / 'affwild2')
    _write_tree(data_root)
    ckpt = str(tmp / 'contrawarp.pth')
    init_backbone = _contrawarp_checkpoint(ckpt)
    return data_root, ckpt, init_backbone


@pytest.mark.slow
def test_train_res50_config_tiny(tmp_path, tiny_release):
    data_root, ckpt, init_backbone = tiny_release
    work_dir = str(tmp_path / 'work')
    cmd = [sys.executable, 'tools/train.py', EXPR_R50, '--work-dir',
           work_dir, '--cfg-options'] + _train_options(data_root, ckpt)
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    n = len(init_backbone)  # PretrainedBackbone mapping: every backbone key, nothing else
    assert f'loaded {n}/{n} ResNet tensors from checkpoint' in log  # all required
    assert 'Iter(train) [3/3]' in log and 'fer/macro_f1' in log
    assert 'AffWild2Expr(train)' in log and 'unannotated (-1) lines skipped' in log
    _check_run(work_dir, init_backbone)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dist_train_two_cpu_processes(tmp_path, tiny_release):
    data_root, ckpt, init_backbone = tiny_release
    work_dir = str(tmp_path / 'work')
    env = _env()
    env.update(PYTHON=sys.executable, PORT=str(_free_port()))
    cmd = ['bash', 'tools/dist_train.sh', EXPR_R50, '2', '--work-dir',
           work_dir, '--cfg-options'] + _train_options(data_root, ckpt)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=400)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert 'Iter(train) [3/3]' in log and 'fer/macro_f1' in log
    _check_run(work_dir, init_backbone)


@pytest.mark.parametrize('name,metric_key', [(f'{R50}-va', 'va/ccc/mean'),
                                             (f'{R50}-au', 'au/f1/mean')])
def test_va_au_configs_train_step_and_metric(name, metric_key, tiny_release):
    """The VA/AU pipelines, heads and metrics agree on field names (gt_va/pred_va, ...)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.evaluator import Evaluator

    from mmfer.registry import DATASETS
    data_root = tiny_release[0]
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    cfg.merge_from_dict(dict(RES18, **TINY))
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    train_set = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=data_root,
                                    frame_interval=1))
    batch = pseudo_collate([train_set[i] for i in range(4)])
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    losses = model.train_step(batch, optim)
    assert len(losses) >= 1 and all(torch.isfinite(v) for v in losses.values())
    val_set = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=data_root))
    evaluator = Evaluator(cfg.val_evaluator)
    evaluator.dataset_meta = val_set.metainfo
    val_batch = pseudo_collate([val_set[i] for i in range(len(val_set))])
    outputs = model.val_step(val_batch)
    evaluator.process(outputs, val_batch)
    metrics = evaluator.evaluate(len(val_set))
    assert metric_key in metrics and np_isfinite(metrics[metric_key])


def np_isfinite(x) -> bool:
    import math
    return math.isfinite(float(x))


def test_readme_and_metafile_list_every_config():
    import yaml
    names = sorted(f for f in os.listdir(CFG_DIR) if f.endswith('.py'))
    assert len(names) == 4 and all(n.startswith('abaw5_resnet') for n in names)
    readme = open(osp.join(CFG_DIR, 'README.md')).read()
    meta = yaml.safe_load(open(osp.join(CFG_DIR, 'metafile.yml')))
    assert sorted(osp.basename(m['Config']) for m in meta['Models']) == names
    for name in names:
        assert name in readme
    # the paper's Table 1 numbers of the two expression rows
    results = {m['Name']: m['Results'] for m in meta['Models']}
    assert results[f'{R50}-expr'][0]['Metrics']['Macro F1 (paper, Table 1)'] == 37.57
    assert results[f'{R18}-expr'][0]['Metrics']['Macro F1 (paper, Table 1)'] == 33.69
    assert 'batch_size=16' in readme and '256 · 3 · 3 = 2304' in readme
