# Copyright (c) mmfer contributors. All rights reserved.
"""Every SSL-FER config loads, its model and pipelines build, with the paper's settings."""
import glob
import os.path as osp

import pytest
from mmcv.transforms import Compose
from mmengine.config import Config

from mmfer.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(c for c in glob.glob(osp.join(REPO, 'configs/sslfer/*.py'))
                 if not osp.basename(c).startswith('_'))
PRETRAIN = [c for c in CONFIGS if '_voxceleb_' in c]
DOWNSTREAM = [c for c in CONFIGS if '_mlp-' in c]

# row -> (TimeAug with a real offset, FaceSwap, HardNeg, MaskFN)
ROWS = {'a': (False, False, False, False), 'b': (True, False, False, False),
        'c': (True, True, False, False), 'd': (True, False, True, False),
        'e': (True, True, True, False), 'f': (True, True, True, True)}


def _pipelines(cfg):
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            yield Compose(cfg[key].dataset.pipeline)


def test_all_rows_present():
    assert len(PRETRAIN) == 6 and len(DOWNSTREAM) == 6
    assert sorted(osp.basename(c).split('_voxceleb_')[1][0] for c in PRETRAIN) == list('abcdef')


@pytest.mark.parametrize('path', PRETRAIN, ids=osp.basename)
def test_pretrain_config(path):
    cfg = Config.fromfile(path)
    row = osp.basename(path).split('_voxceleb_')[1][0]
    timeaug, faceswap, hardneg, maskfn = ROWS[row]
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    ta = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'TimeAug'][0]
    assert (ta['max_offset'] == 1.0) == timeaug
    assert ('FaceSwap' in types) == faceswap and ('HardNeg' in types) == hardneg
    pack = cfg.train_dataloader.dataset.pipeline[-1]
    assert pack['view_roles'] == (('anchor', 'positive', 'hardneg') if hardneg
                                  else ('anchor', 'positive'))
    assert cfg.model.use_hardneg == hardneg and cfg.model.use_maskfn == maskfn
    assert cfg.model.temperature == 0.07 and cfg.model.neck.out_channels == 128
    assert cfg.model.neck.num_layers == 2
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('Adam', 3e-4, 1e-4)
    assert cfg.train_dataloader.batch_size * 4 == 256 and cfg.sync_bn == 'torch'
    cos = [s for s in cfg.param_scheduler if s['type'] == 'CosineAnnealingLR'][0]
    assert cos['begin'] == 10
    if maskfn:
        with pytest.raises(FileNotFoundError, match='resnet18-f37072fd.pth'):
            MODELS.build(cfg.model)
        cfg.model.descriptor_checkpoint = None
        with pytest.raises(ValueError, match='allow_random_descriptor'):
            MODELS.build(cfg.model)
        cfg.model.allow_random_descriptor = True
        assert 'gt_keypoints' in pack['meta_keys']
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'SSLFER'
    list(_pipelines(cfg))


@pytest.mark.parametrize('path', DOWNSTREAM, ids=osp.basename)
def test_downstream_config(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    frozen = '_mlp-frozen_' in path
    assert (cfg.model.backbone.frozen_stages == 4) == frozen
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    assert len([m for m in model.head.modules() if type(m).__name__ == 'Linear']) == 3
    if 'affectnet8' in path:
        assert cfg.model.head.num_classes == 8
        assert cfg.model.head.loss.type == 'BalancedSoftmaxLoss'
        assert cfg.val_evaluator.type == 'FERClsMetric'
    elif 'affectnet-va' in path:
        assert cfg.model.head.loss.type == 'CCCLoss' and cfg.val_evaluator.type == 'VAMetric'
    else:
        assert cfg.model.head.num_classes == 7 and cfg.test_dataloader.dataset.split == 'test'
    list(_pipelines(cfg))
