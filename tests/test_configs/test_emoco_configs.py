# Copyright (c) mmfer contributors. All rights reserved.
"""Every EmoCo pre-training config loads and builds with the paper's settings."""
import glob
import os.path as osp

import pytest
from mmcv.transforms import Compose
from mmengine.config import Config

from mmfer.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/emoco/*.py')))


def test_main_config_settings():
    cfg = Config.fromfile(osp.join(REPO, 'configs/emoco/'
                                   'emoco_r50_8xb32-coslr-200e_affectnet7.py'))
    m = cfg.model
    assert (m.num_classes, m.queue_len, m.feat_dim, m.momentum) == (7, 65536, 128, 0.001)
    assert m.head.temperature == 0.2 and m.emo_loss_weight == 1.0 and not m.classifier_bias
    assert (m.neck.hid_channels, m.neck.out_channels) == (2048, 128)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('SGD', 0.03, 1e-4)
    assert cfg.train_cfg.max_epochs == 200 and cfg.auto_scale_lr.base_batch_size == 256
    assert cfg.train_dataloader.batch_size * 8 == 256 and cfg.sync_bn == 'torch'
    assert cfg.param_scheduler[0]['type'] == 'CosineAnnealingLR'
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'AffectNet' and ds.num_classes == 7


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    switches = dict(MQ='use_multi_queue', N='use_intra_norm', L_emo='use_emo_loss',
                    L_cont='use_cont_loss')
    off = {k for k, v in switches.items() if not cfg.model[v]}
    name = osp.basename(path)
    expected = {'single-queue': {'MQ'}, 'no-intranorm': {'N'}, 'no-emo': {'L_emo'},
                'no-cont': {'L_cont'}}
    assert off == next((v for k, v in expected.items() if k in name), set())
    cfg.model.queue_len = min(cfg.model.queue_len, 4096)  # keep the test's memory small
    model = MODELS.build(cfg.model)
    num_queues = 7 if cfg.model.use_multi_queue else 1
    assert model.queue.shape == (num_queues, cfg.model.queue_len, 128)
    Compose(cfg.train_dataloader.dataset.pipeline)
