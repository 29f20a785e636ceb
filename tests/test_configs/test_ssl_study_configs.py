# Copyright (c) mmfer contributors. All rights reserved.
"""The SSL study's configs (configs/ssl_study): one setting for every row, each method runs only
the views it uses, and the loss scales of the ContraWarping rows equal their baselines'."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from mmfer.apis.ssl_study import METHODS
from mmfer.registry import MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDY = osp.join(REPO, 'configs', 'ssl_study')
NAME = re.compile(r'^(contrawarp-)?(byol|simsiam|sslfer)_resnet18-w16_1xb64-sgd-coslr_'
                  r'synthetic48(-video)?(_[a-z0-9-]+)?\.py$')


def _cfg(key):
    return Config.fromfile(osp.join(REPO, METHODS[key].config))


def _pipeline_types(cfg):
    return [t['type'] for t in cfg.train_dataloader.dataset.pipeline]


def test_every_ssl_row_has_a_named_config():
    files = {osp.basename(p) for p in glob.glob(osp.join(STUDY, '*.py'))}
    rows = {osp.basename(m.config) for m in METHODS.values() if m.config}
    assert files == rows
    for name in files:
        assert NAME.match(name), name
        with open(osp.join(STUDY, name), encoding='utf-8') as f:
            head = f.read().split('_base_')[0].lower()
        assert 'not a paper row' in head and 'issue' not in head, name


@pytest.mark.parametrize('key', [k for k, m in METHODS.items() if m.config])
def test_one_setting_for_every_row(key):
    cfg, ref = _cfg(key), _cfg('byol')
    model = MODELS.build(cfg.model)
    assert cfg.model.backbone.base_channels == cfg.model.backbone.stem_channels == 16
    assert cfg.model.backbone.depth == 18
    assert cfg.optim_wrapper == ref.optim_wrapper
    assert cfg.param_scheduler == ref.param_scheduler and cfg.train_cfg == ref.train_cfg
    assert cfg.train_dataloader.batch_size == ref.train_dataloader.batch_size
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert type(model).__name__ in ('BYOL', 'SimSiam', 'ContraWarpBYOL', 'ContraWarpSimSiam',
                                    'SSLFER')


def test_each_method_runs_only_the_views_it_uses(tmp_path):
    """BYOL/SimSiam: 2 views, no warp, no heatmaps; ContraWarping: 3 views, heatmaps (and a
    landmark head) only with LD; checked on a real sample through each pipeline."""
    from mmfer.datasets.synthetic import write_face_folder
    from mmfer.registry import DATASETS
    root = str(tmp_path / 'faces')
    write_face_folder(root, num=2, image_size=48, num_identities=1)
    for key, m in METHODS.items():
        if not m.config or m.data != 'stills':
            continue
        cfg = _cfg(key)
        ds_cfg = dict(cfg.train_dataloader.dataset, data_root=root)
        item = DATASETS.build(ds_cfg)[0]
        views = item['inputs']
        ld = key.endswith('_ld')
        if key in ('byol', 'simsiam'):
            assert len(views) == 2, key
            assert 'ContraWarpViews' not in str(cfg.train_dataloader.dataset.pipeline)
            assert not hasattr(item['data_samples'], 'heatmaps')
        else:
            assert len(views) == 3, key
            assert hasattr(item['data_samples'], 'heatmaps') == ld, key
            warp = cfg.train_dataloader.dataset.pipeline[1].warp
            assert warp.center_mode == ('random' if 'rw_random' in key else 'landmark'), key
        assert all(tuple(v.shape) == (3, 48, 48) for v in views), key
        assert (cfg.model.get('landmark_head') is not None) == ld, key


def test_sslfer_row_reads_the_videos_with_timeaug_hardneg():
    cfg = _cfg('sslfer')
    assert cfg.train_dataloader.dataset.type == 'VoxCelebFrames'
    assert cfg.train_dataloader.dataset.data_root.endswith('videos')
    assert _pipeline_types(cfg)[:4] == ['LoadFaceImage', 'TimeAug', 'HardNeg', 'TimeAug']
    assert cfg.model.use_hardneg and cfg.model.get('target_generator') is None
    for t in cfg.train_dataloader.dataset.pipeline:
        TRANSFORMS.build(t)


@pytest.mark.parametrize('cw_key,plain_key,scale', [
    ('cw_byol_rw_landmark_ld', 'byol', 4.0),
    ('cw_simsiam_rw_landmark_ld', 'simsiam', 1.0)])
def test_contrawarp_cont12_is_the_baselines_loss(cw_key, plain_key, scale):
    """With the same weights and views, loss_cont12 equals the plain method's loss (BYOL:
    2 (-cos - cos) = -4 sim, so the ContraWarping terms carry 4; SimSiam: -sim, weight 1)."""
    cw_cfg, plain_cfg = _cfg(cw_key).model, _cfg(plain_key).model
    cw_cfg.landmark_head = None
    torch.manual_seed(0)
    cw = MODELS.build(cw_cfg)
    plain = MODELS.build(plain_cfg)
    plain.load_state_dict(cw.state_dict(), strict=True)
    cw.train()
    plain.train()
    x1, x2, x3 = (torch.randn(4, 3, 48, 48) for _ in range(3))
    samples = [DataSample() for _ in range(4)]
    torch.manual_seed(1)
    cw_losses = cw.loss([x1, x2, x3], samples)
    torch.manual_seed(1)
    plain_loss = plain.loss([x1, x2], samples)['loss']
    torch.testing.assert_close(cw_losses['loss_cont12'], plain_loss, rtol=1e-5, atol=1e-6)
    assert cw.head.loss_module.loss_weight_12 == cw.head.loss_module.loss_weight_13 == scale
    assert float(cw_losses['loss_cont13']) >= scale * 0.6 - 1e-6


@pytest.mark.parametrize('paper_config,hooks', [
    ('configs/contrawarp/contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py',
     "[dict(type='EMAMomentumLoggerHook'), {{_base_.feature_monitor}}]"),
    ('configs/sslfer/sslfer_resnet50_4xb64-adam-coslr-210e_voxceleb_f-timeaug-hardneg-'
     'faceswap-maskfn.py', '[{{_base_.feature_monitor}}]')])
def test_the_commented_monitor_example_builds(paper_config, hooks, tmp_path):
    """The paper configs keep the monitor off; their comment's recipe switches it on."""
    from mmfer.registry import HOOKS
    path = osp.join(REPO, paper_config)
    text = open(path, encoding='utf-8').read()
    assert 'FeatureMonitorHook' not in str(Config.fromfile(path).get('custom_hooks', []))
    assert "'../_base_/feature_monitor.py'" in text and hooks in text
    cfg_file = tmp_path / 'with_monitor.py'
    cfg_file.write_text(f"_base_ = [{path!r}, "
                        f"{osp.join(REPO, 'configs/_base_/feature_monitor.py')!r}]\n"
                        f"custom_hooks = {hooks}\n")
    cfg = Config.fromfile(str(cfg_file))
    hook = HOOKS.build(cfg.custom_hooks[-1])
    assert type(hook).__name__ == 'FeatureMonitorHook' and hook.knn_k == (10, 30)
