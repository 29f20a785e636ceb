# Copyright (c) mmfer contributors. All rights reserved.
"""Every SSL-FER config loads and builds, with the paper's settings (§4.1) and the Table 1
row named in its file name (configs/sslfer/README.md: how the rows were read)."""
import glob
import os.path as osp

import pytest
from mmcv.transforms import Compose
from mmengine.config import Config

from mmfer.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAIN = sorted(glob.glob(osp.join(REPO, 'configs/sslfer/*.py')))
DOWNSTREAM = sorted(glob.glob(osp.join(REPO, 'configs/sslfer/benchmarks/*.py')))
P50 = 'sslfer_resnet50_4xb64-adam-coslr-210e_voxceleb_'

# Table 1 rows -> (TimeAug with a real offset, HardNeg pairs, positive swap, MaskFN)
ROWS = {
    'simclr': (False, False, None, False),
    'a-timeaug': (True, False, None, False),
    'b-timeaug-hardneg': (True, True, None, False),
    'c-timeaug-hardneg-cutmix': (True, True, 'CenterCutMix', False),
    'd-timeaug-faceswap-maskfn': (True, False, 'FaceSwap', True),
    'e-timeaug-hardneg-faceswap': (True, True, 'FaceSwap', False),
    'timeaug-hardneg-maskfn': (True, True, None, True),
    'f-timeaug-hardneg-faceswap-maskfn': (True, True, 'FaceSwap', True),
    'f-timeaug-hardneg-faceswap-maskfn2': (True, True, 'FaceSwap', True),
}


def test_every_table1_row_has_a_resnet50_config():
    names = {osp.basename(p)[len(P50):-3] for p in PRETRAIN if P50 in p}
    assert names == set(ROWS)
    assert len(DOWNSTREAM) == 5


@pytest.mark.parametrize('path', PRETRAIN, ids=osp.basename)
def test_pretrain_config(path):
    cfg = Config.fromfile(path)
    row = osp.basename(path).split('_voxceleb_')[1][:-3]
    timeaug, hardneg, swap, maskfn = ROWS[row]
    pipeline = cfg.train_dataloader.dataset.pipeline
    types = [t['type'] for t in pipeline]
    ta = [t for t in pipeline if t['type'] == 'TimeAug']
    assert (ta[0]['max_offset'] == 1.0) == timeaug
    views = ('anchor', 'positive') + (('hardneg', 'hardneg_positive') if hardneg else ())
    assert tuple(pipeline[-1]['view_roles']) == views
    assert tuple(pipeline[-2]['views']) == views
    if hardneg:  # hard-negative pairs: the hard negative gets its own TimeAug positive
        assert types.count('HardNeg') == 1 and len(ta) == 2
        assert (ta[1]['anchor_role'], ta[1]['role']) == ('hardneg', 'hardneg_positive')
    else:
        assert 'HardNeg' not in types and len(ta) == 1
    swaps = [t for t in pipeline if t['type'] in ('FaceSwap', 'CenterCutMix')]
    assert {t['type'] for t in swaps} == ({swap} if swap else set())
    assert all(t['prob'] == 0.5 for t in swaps)
    assert len(swaps) == (2 if swap and hardneg else 1 if swap else 0)
    # every view: landmark masking, resize 128, crop 112, flip, blur, jitter, grey (§4.1)
    view = [t['type'] for t in pipeline[-2]['transforms']]
    assert view == ['RandomLandmarkMask', 'FaceResize', 'FaceRandomCrop', 'FaceRandomFlip',
                    'GaussianBlur', 'RandomApply', 'RandomGrayscale']
    assert pipeline[-2]['transforms'][1]['scale'] == 128
    assert pipeline[-2]['transforms'][2]['crop_size'] == 112
    m = cfg.model
    assert m.use_hardneg == hardneg and ('target_generator' in m) == maskfn
    assert m.num_false_negatives == (2 if row.endswith('maskfn2') else 1)
    assert m.head.loss.temperature == 0.07 and m.head.fn_loss_weight == 0.5
    assert (m.neck.out_channels, m.neck.num_layers) == (128, 2)
    depth = 18 if 'resnet18' in path else 50
    assert m.backbone.depth == depth and m.neck.in_channels == (2048 if depth == 50 else 512)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('Adam', 3e-4, 1e-4)
    assert cfg.train_dataloader.batch_size * 4 == 256 and cfg.sync_bn == 'torch'
    cos = [s for s in cfg.param_scheduler if s['type'] == 'CosineAnnealingLR'][0]
    assert (cos['begin'], cos['end'], cfg.train_cfg.max_epochs) == (10, 210, 210)
    ckpt = cfg.default_hooks.checkpoint
    assert (ckpt.type, ckpt.interval, ckpt.min_accuracy) == ('InstDiscCheckpointHook', 5, 60.)
    assert 'max_keep_ckpts' not in ckpt  # every gated checkpoint kept
    if maskfn:
        assert 'gt_keypoints' in pipeline[-1]['meta_keys']
        with pytest.raises(FileNotFoundError, match='resnet18-f37072fd.pth'):
            MODELS.build(m)
        m.target_generator.checkpoint = None
        with pytest.raises(ValueError, match='allow_random_descriptor'):
            MODELS.build(m)
        m.target_generator.allow_random_descriptor = True
    model = MODELS.build(m)
    assert type(model).__name__ == 'SSLFER'
    Compose(pipeline)


@pytest.mark.parametrize('path', DOWNSTREAM, ids=osp.basename)
def test_downstream_config(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    name = osp.basename(path)
    assert (cfg.model.backbone.frozen_stages == 4) == ('-frozen-' in name)
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    assert len([m for m in model.head.modules() if type(m).__name__ == 'Linear']) == 3
    # §4.1: the same hyper-parameters for every model and protocol
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('Adam', 1e-4, 5e-4)
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.param_scheduler[0]['type'] == 'CosineAnnealingLR'
    epochs = 300 if 'fer2013' in name else 20
    assert cfg.train_cfg.max_epochs == epochs == cfg.param_scheduler[0]['T_max']
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'GaussianBlur' in types and ('RandomLandmarkMask' in types) != ('fer2013' in name)
    if 'affectnet8' in name or 'fer2013' in name:  # Balanced Softmax for every EXPR task
        assert cfg.model.head.loss.type == 'BalancedSoftmaxLoss'
        assert len(cfg.model.head.loss.class_counts) == cfg.model.head.num_classes
        assert cfg.model.head.num_classes == (8 if 'affectnet8' in name else 7)
    else:
        assert cfg.model.head.loss.type == 'CCCLoss' and cfg.val_evaluator.type == 'VAMetric'
    if 'fer2013' in name:
        assert sum(cfg.model.head.loss.class_counts) == 28709  # §4.2: 28,709 training images
        assert cfg.test_dataloader.dataset.split == 'test'
        assert cfg.default_hooks.checkpoint.save_best == 'fer/accuracy'
    else:
        assert cfg.train_dataloader.dataset.with_landmarks
    Compose(cfg.train_dataloader.dataset.pipeline)
    Compose(cfg.val_dataloader.dataset.pipeline)
