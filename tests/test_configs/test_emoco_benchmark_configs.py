# Copyright (c) mmfer contributors. All rights reserved.
"""EmoCo's downstream AU configs build; one runs a validation step on an AU list the test
writes."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config

from mmfer.registry import DATASETS, METRICS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/emoco/benchmarks/*.py')))
NUM_AUS = {'bp4d': 12, 'disfa': 8, 'gft': 10}


def test_every_dataset_and_protocol():
    names = {osp.basename(c)[:-3] for c in CONFIGS}
    assert names == {f'resnet50_1xb64-{p}-sgd-coslr-20e_{d}' for p in ('linear', 'finetune')
                     for d in ('bp4d-fold1', 'disfa-fold1', 'gft-fold1', 'gft-official')}


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    dataset, split = name[:-3].split('_')[-1].split('-')
    assert cfg.model.head.num_classes == len(cfg.au_names) == NUM_AUS[dataset]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.au_names == cfg.au_names
        assert cfg[key].dataset.data_root == f'data/{dataset}/'
    assert cfg.model.head.loss.use_sigmoid and cfg.val_evaluator.type == 'AUF1Metric'
    assert (cfg.model.backbone.frozen_stages == 4) == ('-linear-' in name)
    assert cfg.optim_wrapper.optimizer.lr == (0.01 if '-linear-' in name else 0.001)
    files = ('lists/official_train.txt', 'lists/official_test.txt') if split == 'official' \
        else ('lists/fold1_train.txt', 'lists/fold1_test.txt')
    assert (cfg.train_dataloader.dataset.ann_file, cfg.val_dataloader.dataset.ann_file) == files
    MODELS.build(cfg.model)
    Compose(cfg.train_dataloader.dataset.pipeline)
    Compose(cfg.val_dataloader.dataset.pipeline)


def test_disfa_linear_val_step_and_metric(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/emoco/benchmarks/'
                                   'resnet50_1xb64-linear-sgd-coslr-20e_disfa-fold1.py'))
    (tmp_path / 'aligned' / 'SN001').mkdir(parents=True)
    (tmp_path / 'lists').mkdir()
    rng = np.random.RandomState(0)
    lines = ['path ' + ' '.join(cfg.au_names + ['AU5'])]
    for i in range(3):
        cv2.imwrite(str(tmp_path / 'aligned' / 'SN001' / f'{i}.jpg'),
                    rng.randint(0, 255, (48, 48, 3), dtype=np.uint8))
        vals = ['1', '0', '9', '1', '0', '0', '1', '-1', '1']
        lines.append(f'SN001/{i}.jpg ' + ' '.join(vals))
    (tmp_path / 'lists' / 'fold1_test.txt').write_text('\n'.join(lines) + '\n')
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = str(tmp_path)
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == 3 and dataset.metainfo['classes'] == tuple(cfg.au_names)
    cfg.model.backbone.depth = 18  # small & fast; head in_channels follows
    cfg.model.head.in_channels = 512
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.data_preprocessor = MODELS.build(dict(type='ClsDataPreprocessor',
                                                **cfg.data_preprocessor))
    batch = dict(inputs=[dataset[i]['inputs'] for i in range(3)],
                 data_samples=[dataset[i]['data_samples'] for i in range(3)])
    assert tuple(batch['inputs'][0].shape) == (3, 224, 224)
    with torch.no_grad():
        out = model.val_step(batch)
    assert out[0].pred_score.shape == (8, )
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = dataset.metainfo
    metric.process(batch, out)
    res = metric.compute_metrics(metric.results)
    assert set(res) == {f'f1/{a}' for a in cfg.au_names} | {'f1/mean'}
    # AU4 (column 2) is unknown everywhere and AU5 was not selected
    assert out[0].au_mask.tolist() == [True, True, False, True, True, True, True, False]
