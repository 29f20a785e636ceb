# Copyright (c) mmfer contributors. All rights reserved.
"""mmfer.apis.supervised_baseline: a supervised config for any config's backbone, and the
identity -> expression leakage check."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmfer.apis.ssl_study import REFERENCE_CONFIG
from mmfer.apis.supervised_baseline import (backbone_feature_dim, identity_expression_leakage,
                                            supervised_config)
from mmfer.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
R50 = 'configs/contrawarp/contrawarp-byol_resnet50_8xb512-lars-coslr-50e_ms1m.py'


@pytest.mark.parametrize('config,dim', [(REFERENCE_CONFIG, 128), (R50, 2048)])
def test_supervised_config_uses_the_configs_backbone(config, dim, ssl_study_tiny_data):
    cfg = Config.fromfile(osp.join(REPO, config))
    rafdb = ssl_study_tiny_data['roots']['rafdb']
    sup = supervised_config(cfg, dict(type='RAFDB', data_root=rafdb, split='train'), 7, 48,
                            max_iters=20, lr=0.05, test_dataset=dict(type='RAFDB',
                                                                     data_root=rafdb,
                                                                     split='test'))
    backbone = dict(cfg.model.backbone)
    assert sup.model.backbone.depth == backbone['depth']
    assert sup.model.backbone.get('base_channels', 64) == backbone.get('base_channels', 64)
    assert sup.model.backbone.norm_cfg.type == 'BN'         # SyncBN of paper configs -> BN
    assert sup.model.head.in_channels == dim and sup.model.head.num_classes == 7
    assert sup.model.data_preprocessor.mean == cfg.model.data_preprocessor.mean
    assert sup.optim_wrapper.optimizer.lr == 0.05
    assert sup.param_scheduler[0].end == 2 and sup.param_scheduler[1].end == 20
    model = MODELS.build(sup.model)
    ds = DATASETS.build(sup.train_dataloader.dataset)
    from mmengine.dataset import default_collate
    batch = model.data_preprocessor(default_collate([ds[0], ds[1]]), True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert torch.isfinite(losses['loss'])
    assert tuple(batch['inputs'].shape[-2:]) == (48, 48)
    assert sup.test_evaluator.type == 'Accuracy'
    assert backbone_feature_dim(sup.model.backbone, 48) == dim


def test_supervised_config_errors():
    with pytest.raises(ValueError, match='has no model.backbone'):
        supervised_config(Config(dict(model=dict(type='X'))), dict(type='RAFDB'), 7, 48, 10)
    cfg = Config.fromfile(osp.join(REPO, REFERENCE_CONFIG))
    with pytest.raises(ValueError, match='max_iters must be a positive integer'):
        supervised_config(cfg, dict(type='RAFDB'), 7, 48, 0)


def test_leakage_is_at_chance_for_independent_labels_and_found_otherwise():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 2000)
    independent = identity_expression_leakage(ids, rng.integers(0, 7, 2000), 7)
    assert independent['at_chance'] and independent['chi2_p_value'] > 0.01
    assert abs(independent['identity_to_expression_acc'] - 1 / 7) < 0.05
    dependent = identity_expression_leakage(ids, ids % 7, 7)
    assert dependent['identity_to_expression_acc'] == 1.0
    assert not dependent['at_chance'] and dependent['chi2_p_value'] < 1e-6
