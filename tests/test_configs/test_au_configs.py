# Copyright (c) mmfer contributors. All rights reserved.
"""AU evaluation configs build; one runs a validation step on an AU list the test writes."""
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
CONFIGS = sorted(c for c in glob.glob(osp.join(REPO, 'configs/au/*.py'))
                 if not osp.basename(c).startswith('_'))
NUM_AUS = {'bp4d': 12, 'disfa': 8, 'gft': 10}


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    dataset = name.split('_')[-1].split('-')[0]
    assert cfg.model.head.num_classes == len(cfg.au_names) == NUM_AUS[dataset]
    assert cfg.model.head.loss.use_sigmoid and cfg.val_evaluator.type == 'AUF1Metric'
    assert (cfg.model.backbone.frozen_stages == 4) == ('_linear_' in name)
    assert cfg.train_dataloader.dataset.ann_file == 'lists/fold1_train.txt'
    assert cfg.val_dataloader.dataset.ann_file == 'lists/fold1_test.txt'
    MODELS.build(cfg.model)
    Compose(cfg.train_dataloader.dataset.pipeline)
    Compose(cfg.val_dataloader.dataset.pipeline)


def test_disfa_linear_val_step_and_metric(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/au/emoco_r50_linear_disfa-fold1.py'))
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
