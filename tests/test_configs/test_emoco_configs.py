# Copyright (c) mmfer contributors. All rights reserved.
"""Every EmoCo pre-training config loads and builds with the paper's settings (§IV.B)."""
import glob
import os.path as osp

import pytest
from mmcv.transforms import Compose
from mmengine.config import Config

from mmfer.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/emoco/*.py')))
MAIN = osp.join(REPO, 'configs/emoco/emoco_resnet50_4xb64-coslr-200e_affectnet7.py')


def test_main_config_settings():
    cfg = Config.fromfile(MAIN)
    m = cfg.model
    assert (m.num_classes, m.queue_len, m.feat_dim, m.momentum) == (7, 65536, 128, 0.001)
    assert m.head.temperature == 0.2 and m.emo_head.loss.loss_weight == 1.0
    assert m.emo_head.type == 'EmotionClsHead' and m.use_intra_norm and m.use_multi_queue
    assert (m.neck.hid_channels, m.neck.out_channels) == (2048, 128) and m.backbone.depth == 50
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, opt.momentum) == ('SGD', 0.03, 1e-4, 0.9)
    assert cfg.train_cfg.max_epochs == 200 and cfg.auto_scale_lr.base_batch_size == 256
    assert cfg.train_dataloader.batch_size * 4 == 256 and cfg.sync_bn == 'torch'
    assert cfg.param_scheduler[0]['type'] == 'CosineAnnealingLR'
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'AffectNet' and ds.num_classes == 7


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_with_its_table_iv_switches(path):
    cfg = Config.fromfile(path)
    m = cfg.model
    parts = dict(MQ=m.use_multi_queue, N=m.use_intra_norm, L_cont=m.head is not None,
                 L_emo=m.emo_head is not None)
    off = {k for k, v in parts.items() if not v}
    name = osp.basename(path)
    expected = {'single-queue': {'MQ'}, 'no-intranorm': {'N'},
                'no-emo': {'L_emo', 'N'},  # plain multi-queue MoCo
                'no-cont': {'L_cont', 'N'}}  # plain emotion classification
    assert off == next((v for k, v in expected.items() if k in name), set())
    cfg.model.queue_len = min(cfg.model.queue_len, 4096)  # keep the test's memory small
    model = MODELS.build(cfg.model)
    if model.with_head:
        num_queues = 7 if cfg.model.use_multi_queue else 1
        assert model.queue.shape == (num_queues, cfg.model.queue_len, 128)
    Compose(cfg.train_dataloader.dataset.pipeline)
