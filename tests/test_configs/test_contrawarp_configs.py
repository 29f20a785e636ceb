# Copyright (c) mmfer contributors. All rights reserved.
"""The ContraWarping configs: one per paper row mmfer can run, with the paper's settings (§4.3)
and per-method augmentations; each algorithm trains a few iterations through tools/train.py
(tiny overrides, synthetic faces) and once under torchrun with 2 processes."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmfer.registry import MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CW = osp.join(REPO, 'configs', 'contrawarp')
CONFIGS = sorted(glob.glob(osp.join(CW, '*.py')))
PREFIX_10PCT = 'contrawarp-simsiam_resnet18_8xb32-coslr-50e_ms1m-10pct'

# config -> (algorithm type, paper row(s) in its header, linear / 10-NN / 30-NN on RAF-DB)
ROWS = {
    'contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py':
    ('ContraWarpBYOL', 'Tab. 4 "BYOL + Ours"', '79.95', '62.48 / 63.92'),
    'contrawarp-byol_resnet50_8xb512-lars-coslr-50e_ms1m.py':
    ('ContraWarpBYOL', 'Tab. 5 "Ours, Res-50"', '84.64', '66.72 / 68.06'),
    'byol_resnet18_8xb512-lars-coslr-50e_ms1m.py':
    ('BYOL', 'Tab. 4 "BYOL"', '77.09', '61.04 / 62.06'),
    'contrawarp-simsiam_resnet18_8xb32-coslr-20e_ms1m.py':
    ('ContraWarpSimSiam', 'Tab. 4 "SimSiam + Ours"', '75.32', '62.57 / 63.39'),
    'simsiam_resnet18_8xb32-coslr-20e_ms1m.py':
    ('SimSiam', 'Tab. 4 "SimSiam"', '69.33', '60.00 / 60.30'),
    'contrawarp-mocov2_resnet18_8xb32-coslr-20e_ms1m.py':
    ('ContraWarpMoCoV2', 'Tab. 4 "MoCo V2 + Ours"', '58.77', '44.91 / 45.66'),
    'mocov2_resnet18_8xb32-coslr-20e_ms1m.py':
    ('MoCo', 'Tab. 4 "MoCo V2"', '57.82', '44.10 / 46.48'),
    'simsiam_resnet18_8xb32-coslr-50e_ms1m-10pct.py':
    ('SimSiam', 'Tab. 1 "SimSiam"', '69.95', '53.10 / 52.54'),
    f'{PREFIX_10PCT}_rw-random.py':
    ('ContraWarpSimSiam', 'Tab. 1 "SimSiam + RW*"', '71.71', '53.98 / 53.16'),
    f'{PREFIX_10PCT}_rw-landmark.py':
    ('ContraWarpSimSiam', 'Tab. 1 "SimSiam + RW†"', '72.00', '54.53 / 54.89'),
    f'{PREFIX_10PCT}_rw-random-ld.py':
    ('ContraWarpSimSiam', 'Tab. 1 "SimSiam + RW* + LD"', '73.66', '55.87 / 56.71'),
    f'{PREFIX_10PCT}_rw-landmark-ld.py':
    ('ContraWarpSimSiam', 'Tab. 1 "SimSiam + RW† + LD"', '75.29', '62.32 / 62.97'),
    f'{PREFIX_10PCT}_rw-random-ld-st0.0.py':
    ('ContraWarpSimSiam', 'Tab. 2 "s_t = 0"', '68.58', '51.50 / 50.85'),
    f'{PREFIX_10PCT}_rw-random-ld-st0.2.py':
    ('ContraWarpSimSiam', 'Tab. 2 "s_t = 0.2"', '69.95', '50.55 / 50.29'),
    f'{PREFIX_10PCT}_rw-random-ld-st0.4.py':
    ('ContraWarpSimSiam', 'Tab. 2 "s_t = 0.4"', '73.99', '55.34 / 56.45'),
    f'{PREFIX_10PCT}_rw-random-ld-st0.8.py':
    ('ContraWarpSimSiam', 'Tab. 2 "s_t = 0.8"', '73.21', '55.08 / 55.67'),
}
NAME = re.compile(r'^(contrawarp-)?(byol|simsiam|mocov2)_resnet(18|50)_(\d+)xb(\d+)-'
                  r'(lars|)-?coslr-(\d+)e_ms1m(-10pct)?(_[a-z0-9.-]+)?\.py$')

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


def _cfg(name):
    return Config.fromfile(osp.join(CW, name))


def _header(name):
    with open(osp.join(CW, name), encoding='utf-8') as f:
        return f.read().split('_base_')[0]


def test_every_paper_row_has_a_named_config_that_builds():
    names = {osp.basename(c) for c in CONFIGS}
    assert set(ROWS) == names
    for name, (algo, row, linear, knn) in ROWS.items():
        assert NAME.match(name), name
        head = _header(name)
        # the header names the paper row and quotes its numbers (checked against the text)
        assert row in head and f'linear {linear}' in head and knn in head, (name, head)
        assert 'issue' not in head.lower()
        cfg = _cfg(name)
        model = MODELS.build(cfg.model)
        assert type(model).__name__ == algo, name
        assert cfg.train_dataloader.dataset.type == 'MS1MRecordIO'
        assert cfg.train_dataloader.collate_fn.type == 'default_collate'
        n_gpus, per_gpu = map(int, re.search(r'_(\d+)xb(\d+)-', name).groups())
        assert cfg.train_dataloader.batch_size == per_gpu
        epochs = int(re.search(r'-(\d+)e_', name).group(1))
        assert cfg.train_cfg.max_epochs == epochs
        assert cfg.param_scheduler[-1].end == epochs
        subset = cfg.train_dataloader.dataset.get('subset_fraction')
        assert subset == (0.1 if '10pct' in name else None), name
        if algo.startswith('ContraWarp'):
            views = TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline[1])
            assert type(views).__name__ == 'ContraWarpViews'
            assert views.warp.strength_mode == 'denominator'
            assert views.warp.center_mode == ('random' if 'rw-random' in name else 'landmark')
            ld = not name.endswith(('_rw-random.py', '_rw-landmark.py'))
            assert model.with_landmark_head == ld and (views.codec is not None) == ld
            if ld:
                assert model.landmark_head.weight_squared  # Eq. (5)
                assert model.landmark_loss_weight == 100.0
        else:  # the baselines: the original two views, no landmarks needed
            assert cfg.train_dataloader.dataset.pipeline[1].type == 'MultiView'
            assert cfg.train_dataloader.dataset.landmark_file is None


def test_metafile_and_readme_list_every_row_with_the_papers_numbers():
    import yaml
    with open(osp.join(CW, 'metafile.yml'), encoding='utf-8') as f:
        meta = yaml.safe_load(f)
    models = {m['Name'] + '.py': m for m in meta['Models']}
    assert set(models) == set(ROWS)
    with open(osp.join(CW, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    for name, (_, row, linear, knn) in ROWS.items():
        m = models[name]
        assert m['Config'] == f'configs/contrawarp/{name}' and m['Weights'] is None
        assert row.split('"')[1] in m['Metadata']['Paper Row'], name
        metrics = m['Results'][0]['Metrics']
        k10, k30 = knn.split(' / ')
        assert (f"{metrics['Linear Top 1 Accuracy']:.2f}",
                f"{metrics['k-NN Top 1 Accuracy (k=10)']:.2f}",
                f"{metrics['k-NN Top 1 Accuracy (k=30)']:.2f}") == (linear, k10, k30), name
        assert f'({name})' in readme  # linked from the README's tables
        assert f'| {linear} | {k10} | {k30} |' in readme, name


def test_paper_schedules():
    """§4.3: BYOL batch 4096, LARS lr 4.8, 50 epochs on 100%; SimSiam SGD lr 0.05 per 256,
    50 epochs on 10% (ablations) / 20 epochs on 100% (Tab. 4)."""
    for name in ROWS:
        cfg = _cfg(name)
        n_gpus, per_gpu = map(int, re.search(r'_(\d+)xb(\d+)-', name).groups())
        total = n_gpus * per_gpu
        opt = cfg.optim_wrapper.optimizer
        assert cfg.auto_scale_lr.base_batch_size == total, name
        if 'byol' in name:
            assert (opt.type, opt.lr, total, cfg.train_cfg.max_epochs) == ('LARS', 4.8, 4096, 50)
        elif 'simsiam' in name:
            assert (opt.type, opt.lr, total) == ('SGD', 0.05, 256)
            assert cfg.train_cfg.max_epochs == (50 if '10pct' in name else 20)
            assert cfg.custom_hooks[0].type == 'SimSiamHook'
        else:  # MoCo v2: its own recipe (the paper gives none)
            assert (opt.type, opt.lr, total) == ('SGD', 0.03, 256)
        if 'byol' in name or 'mocov2' in name:
            assert {h.type for h in cfg.custom_hooks} == {'EMAMomentumLoggerHook'}
    st = {v: _cfg(f'{PREFIX_10PCT}_rw-random-ld-st{v}.py').model.head.loss.target_similarity
          for v in ('0.0', '0.2', '0.4', '0.8')}
    assert st == {'0.0': 0.0, '0.2': 0.2, '0.4': 0.4, '0.8': 0.8}
    assert _cfg(f'{PREFIX_10PCT}_rw-random-ld.py').model.head.loss.target_similarity == 0.6


def test_baselines_share_their_contrawarp_rows_networks():
    """Each baseline is its '+ Ours' config without the warping and the landmark branch."""
    pairs = [('byol_resnet18_8xb512-lars-coslr-50e_ms1m.py',
              'contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py'),
             ('simsiam_resnet18_8xb32-coslr-20e_ms1m.py',
              'contrawarp-simsiam_resnet18_8xb32-coslr-20e_ms1m.py'),
             ('simsiam_resnet18_8xb32-coslr-50e_ms1m-10pct.py', f'{PREFIX_10PCT}_rw-landmark-ld.py'),
             ('mocov2_resnet18_8xb32-coslr-20e_ms1m.py',
              'contrawarp-mocov2_resnet18_8xb32-coslr-20e_ms1m.py')]
    for base_name, cw_name in pairs:
        base, cw = _cfg(base_name), _cfg(cw_name)
        for key in ('backbone', 'neck', 'data_preprocessor'):
            assert base.model[key] == cw.model[key], (base_name, key)
        if 'predictor' in cw.model.head:
            assert base.model.head.predictor == cw.model.head.predictor
            assert base.model.head.loss.type == 'CosineSimilarityLoss'
        for key in ('optim_wrapper', 'param_scheduler', 'train_cfg'):
            assert base[key] == cw[key], (base_name, key)
        assert base.train_dataloader.batch_size == cw.train_dataloader.batch_size


def test_per_method_augmentations_follow_mmpretrain():
    """x2 (and both views of a baseline) is the original method's view pipeline from
    mmpretrain's configs; x1 is it without the random crop (§4.3)."""
    import mmpretrain
    mim = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs', '_base_', 'datasets')
    ref_byol = Config.fromfile(osp.join(mim, 'imagenet_bs32_byol.py'))
    ref_moco = Config.fromfile(osp.join(mim, 'imagenet_bs32_mocov2.py'))

    def same(ours, theirs):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            a, b = dict(a), dict(b)
            if b['type'] == 'RandomApply':  # mmfer's numpy-2-safe ColorJitter
                a['transforms'] = [dict(t, type='ColorJitter') for t in a['transforms']]
                assert a['transforms'][0] == b['transforms'][0]
            assert a == b, (a, b)

    for name, ref, x2_ref in (
            ('contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py', ref_byol,
             ref_byol.view_pipeline2),
            ('contrawarp-simsiam_resnet18_8xb32-coslr-20e_ms1m.py', ref_moco,
             ref_moco.view_pipeline),
            ('contrawarp-mocov2_resnet18_8xb32-coslr-20e_ms1m.py', ref_moco,
             ref_moco.view_pipeline)):
        cfg = _cfg(name)
        x1, x2 = cfg.train_dataloader.dataset.pipeline[1].view_pipelines
        same(x2, x2_ref)
        # x1: the first view with FaceResize for the crop and FaceRandomFlip for the flip
        first = ref.view_pipeline1 if ref is ref_byol else ref.view_pipeline
        expect = [t for t in first if not (t['type'] == 'Solarize' and t['prob'] == 0)]
        expect = [dict(type='FaceResize', scale=224) if t['type'] == 'RandomResizedCrop' else
                  dict(type='FaceRandomFlip', prob=0.5) if t['type'] == 'RandomFlip' else t
                  for t in expect]
        same(x1, expect)
    baseline = _cfg('simsiam_resnet18_8xb32-coslr-20e_ms1m.py').train_dataloader.dataset
    same(baseline.pipeline[1].transforms[0], ref_moco.view_pipeline)
    baseline = _cfg('byol_resnet18_8xb512-lars-coslr-50e_ms1m.py').train_dataloader.dataset
    same(baseline.pipeline[1].transforms[0], ref_byol.view_pipeline1)
    same(baseline.pipeline[1].transforms[1], ref_byol.view_pipeline2)


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    from mmfer.datasets.synthetic import write_face_folder
    root = str(tmp_path_factory.mktemp('cw_faces'))
    write_face_folder(root, num=8, image_size=32, seed=0, num_identities=4)
    return root


def _tiny_config(tmp_path, name, data_root):
    """The real config with the MS1M dataset swapped for 32 px synthetic faces."""
    path = tmp_path / f'tiny_{name}'
    path.write_text(f"""
_base_ = [{osp.join(CW, name)!r}]
views = dict(
    type='ContraWarpViews',
    view_pipelines=[[dict(type='FaceResize', scale=32), dict(type='FaceRandomFlip', prob=0.5)],
                    [dict(type='RandomResizedCrop', scale=32), dict(type='RandomFlip', prob=0.5)]],
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    codec=dict(type='MSRAHeatmap', input_size=(32, 32), heatmap_size=(8, 8), sigma=1.5))
train_dataloader = dict(dataset=dict(
    _delete_=True, type='FaceFolderDataset', data_root={data_root!r}, data_prefix='images',
    landmark_file='landmarks.npz', missing_landmarks='drop',
    pipeline=[dict(type='LoadFaceImage'), views, dict(type='PackContraWarpInputs')]))
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
    ('contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py', 'byol',
     {'loss_cont12', 'loss_cont13', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13', 'momentum', 'lr'}),
    ('contrawarp-simsiam_resnet18_8xb32-coslr-20e_ms1m.py', 'simsiam',
     {'loss_cont12', 'loss_cont13', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13', 'lr'}),
    ('contrawarp-mocov2_resnet18_8xb32-coslr-20e_ms1m.py', 'mocov2',
     {'loss_cont', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13', 'momentum', 'lr'}),
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
    if 'momentum' in keys:  # the logged decay of the EMA network: 1 - m at its schedule
        assert all(0.9 < r['momentum'] <= 1.0 for r in logs)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


@pytest.mark.slow
def test_train_with_torchrun_two_processes(tmp_path, tiny_data):
    cfg = _tiny_config(tmp_path, 'contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py',
                       tiny_data)
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
