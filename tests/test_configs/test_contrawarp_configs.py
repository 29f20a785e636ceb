# Copyright (c) mmfer contributors. All rights reserved.
"""Every ContraWarping config builds; each algorithm trains a few iterations through
tools/train.py (tiny overrides, synthetic faces) and once under torchrun with 2 processes."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmfer.registry import MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'contrawarp', '*.py')))

# Smaller heads and CPU norms (SyncBN needs CUDA in multi-process runs), one epoch of 8 images.
TINY = {
    'byol': ['model.backbone.norm_cfg.type=BN', 'model.neck.norm_cfg.type=BN1d',
             'model.head.predictor.norm_cfg.type=BN1d', 'model.neck.hid_channels=32',
             'model.head.predictor.hid_channels=32'],
    'simsiam': ['model.backbone.norm_cfg.type=BN', 'model.neck.norm_cfg.type=BN1d',
                'model.head.predictor.norm_cfg.type=BN1d', 'model.neck.hid_channels=32',
                'model.neck.out_channels=32', 'model.head.predictor.in_channels=32',
                'model.head.predictor.out_channels=32'],
    'mocov2': ['model.queue_len=16', 'model.neck.hid_channels=32'],
}
COMMON = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4',
          'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
          'model.landmark_head.deconv_out_channels=[16,16,16]',
          'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1']


def test_contrawarp_configs_build():
    names = {osp.basename(c) for c in CONFIGS}
    assert {'byol_r18.py', 'byol_r50.py', 'simsiam_r18.py', 'mocov2_r18.py',
            'simsiam_r18_rw-random.py', 'simsiam_r18_rw-landmark.py',
            'simsiam_r18_rw-landmark_ld.py', 'byol_r18_synthetic.py'} <= names
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        with open(path) as f:
            head = f.read().split('_base_')[0]
        assert 'row' in head.lower() or 'not a paper row' in head.lower(), path
        model = MODELS.build(cfg.model)
        assert type(model).__name__ == cfg.model.type
        views = TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline[0])
        assert type(views).__name__ == 'ContraWarpViews'
        assert cfg.train_dataloader.collate_fn.type == 'default_collate'
        name = osp.basename(path)
        assert model.with_landmark_head == (name not in ('simsiam_r18_rw-random.py',
                                                         'simsiam_r18_rw-landmark.py'))
        center_mode = cfg.train_dataloader.dataset.pipeline[0].warp.center_mode
        assert center_mode == ('random' if 'rw-random' in name else 'landmark')
    r50 = Config.fromfile(osp.join(REPO, 'configs/contrawarp/byol_r50.py'))
    assert r50.optim_wrapper.optimizer.type == 'LARS' and r50.optim_wrapper.optimizer.lr == 4.8
    assert r50.train_dataloader.batch_size * 8 == 4096 and r50.train_cfg.max_epochs == 50
    simsiam = Config.fromfile(osp.join(REPO, 'configs/contrawarp/simsiam_r18.py'))
    assert simsiam.optim_wrapper.optimizer.lr == 0.05
    assert simsiam.train_dataloader.batch_size * 8 == 256


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    from mmfer.datasets.synthetic import write_face_folder
    root = str(tmp_path_factory.mktemp('cw_faces'))
    write_face_folder(root, num=8, image_size=32, seed=0, num_identities=4)
    return root


def _tiny_config(tmp_path, name, data_root):
    """The real config with the MS1M dataset swapped for 32 px synthetic faces."""
    path = tmp_path / f'tiny_{name}.py'
    path.write_text(f"""
_base_ = [{osp.join(REPO, 'configs', 'contrawarp', name + '.py')!r}]
views = dict(
    type='ContraWarpViews',
    view_pipelines=[[dict(type='FaceResize', scale=32), dict(type='FaceRandomFlip', prob=0.5)],
                    [dict(type='RandomResizedCrop', scale=32), dict(type='RandomFlip', prob=0.5)]],
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    codec=dict(type='MSRAHeatmap', input_size=(32, 32), heatmap_size=(8, 8), sigma=1.5))
train_dataloader = dict(dataset=dict(
    _delete_=True, type='FaceFolderDataset', data_root={data_root!r}, data_prefix='images',
    landmark_file='landmarks.npz', missing_landmarks='drop',
    pipeline=[views, dict(type='PackContraWarpInputs')]))
""")
    return str(path)


def _scalars(work_dir):
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    with open(files[0]) as f:
        return [json.loads(line) for line in f if line.strip()]


def _run(cmd, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (proc.stdout[-4000:] + '\n' + proc.stderr[-4000:])
    return proc


@pytest.mark.slow
@pytest.mark.parametrize('name, algo, keys', [
    ('byol_r18', 'byol', {'loss_cont12', 'loss_cont13', 'loss_lm1', 'loss_lm3', 'sim12',
                          'sim13', 'momentum', 'lr'}),
    ('simsiam_r18', 'simsiam', {'loss_cont12', 'loss_cont13', 'loss_lm1', 'loss_lm3', 'sim12',
                                'sim13', 'lr'}),
    ('mocov2_r18', 'mocov2', {'loss_cont', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13',
                              'momentum', 'lr'}),
])
def test_train_through_tools_train(tmp_path, tiny_data, name, algo, keys):
    cfg = _tiny_config(tmp_path, name, tiny_data)
    work = str(tmp_path / 'work')
    _run([sys.executable, 'tools/train.py', cfg, '--work-dir', work, '--cfg-options']
         + COMMON + TINY[algo])
    logs = [r for r in _scalars(work) if 'loss' in r]
    assert len(logs) == 2  # 8 images / batch 4, logged every iteration
    for r in logs:
        assert keys <= set(r), set(r)
        assert all(abs(r[k]) < 1e4 for k in keys)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


@pytest.mark.slow
def test_train_with_torchrun_two_processes(tmp_path, tiny_data):
    cfg = _tiny_config(tmp_path, 'byol_r18', tiny_data)
    work = str(tmp_path / 'work')
    env_port = str(29500 + os.getpid() % 1000)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO, PYTHON=sys.executable,
               PORT=env_port)
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', work, '--cfg-options']
        + COMMON + TINY['byol'], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=240)
    assert proc.returncode == 0, (proc.stdout[-4000:] + '\n' + proc.stderr[-4000:])
    logs = [r for r in _scalars(work) if 'loss' in r]
    assert len(logs) == 1  # 8 images over 2 processes x batch 4 = one iteration
    assert {'loss_cont12', 'loss_cont13', 'loss_lm1', 'sim13', 'momentum'} <= set(logs[0])
    with open(glob.glob(osp.join(work, '*', '*.log'))[0]) as f:
        log = f.read()
    assert 'Distributed training: True' in log and 'GPU number: 2' in log


def test_synthetic_config_cont12_is_byol_loss():
    """configs/contrawarp/byol_r18_synthetic.py weights ContraWarpLoss so that its x1/x2 term
    is exactly mmpretrain BYOL's loss (configs/byol/byol_r18_synthetic.py, the demo baseline):
    same weights, same views -> loss_cont12 == BYOL's loss."""
    import torch
    from mmpretrain.structures import DataSample
    cw_cfg = Config.fromfile(osp.join(REPO, 'configs/contrawarp/byol_r18_synthetic.py')).model
    byol_cfg = Config.fromfile(osp.join(REPO, 'configs/byol/byol_r18_synthetic.py')).model
    assert byol_cfg.type == 'BYOL'
    cw_cfg.landmark_head = None
    torch.manual_seed(0)
    cw = MODELS.build(cw_cfg)
    byol = MODELS.build(byol_cfg)
    byol.load_state_dict(cw.state_dict(), strict=True)  # the same keys: no landmark head
    cw.train()
    byol.train()
    x1, x2, x3 = (torch.randn(4, 3, 32, 32) for _ in range(3))
    cw_losses = cw.loss([x1, x2, x3], [DataSample() for _ in range(4)])
    byol_loss = byol.loss([x1, x2], [DataSample() for _ in range(4)])['loss']
    torch.testing.assert_close(cw_losses['loss_cont12'], byol_loss, rtol=1e-5, atol=1e-6)
    # the hinge term carries the same weight: 4 * mean(max(sim13_i, s_t)) >= 4 * s_t
    assert cw.contrawarp_loss.loss_weight_13 == 4.0
    assert float(cw_losses['loss_cont13']) >= 4 * 0.6 - 1e-6
    assert float(cw_losses['loss_cont13']) >= 4 * float(cw_losses['sim13']) - 1e-5
