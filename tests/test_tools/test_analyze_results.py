# Copyright (c) mmfer contributors. All rights reserved.
"""tools/test.py --dump -> tools/analysis_tools/analyze_results.py, the analysis library, and
tools/train.py --tensorboard."""
import csv
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmfer.evaluation.prediction_analysis import (class_report, load_predictions,
                                                  prediction_kind, va_report, worst_cases)
from mmfer.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = 'configs/demo/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy.py'


def _run(args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc


def test_class_report_and_worst_cases(tmp_path):
    scores = torch.tensor([[.9, .1, 0.], [.2, .7, .1], [.6, .3, .1], [.1, .1, .8],
                           [.3, .6, .1], [.05, .05, .9]])
    gt = torch.tensor([0, 1, 1, 2, 0, 1])
    path = str(tmp_path / 'preds.pth')
    torch.save(dict(sample_idx=torch.arange(6), pred_score=scores, gt_label=gt,
                    img_path=[f'{i}.png' for i in range(6)], classes=['a', 'b', 'c']), path)
    preds = load_predictions(path)
    assert prediction_kind(preds) == 'cls'
    rows = {r['class']: r for r in class_report(preds)}
    assert rows['b']['support'] == 3 and rows['b']['correct'] == 1
    assert rows['b']['recall'] == pytest.approx(100 / 3)
    assert rows['b']['precision'] == pytest.approx(50.0)       # predicted b: samples 1, 4
    assert (rows['b']['confused_with'], rows['b']['confused_count']) == ('a', 1)  # tie a/c:
    assert rows['c']['confused_with'] == '' and rows['c']['recall'] == 100.0   # first wins
    worst = worst_cases(preds, k=2)
    assert [w['index'] for w in worst] == [5, 2]  # wrong, most confident first
    assert worst[0] == dict(index=5, gt='b', pred='c', score=pytest.approx(0.9),
                            gt_score=pytest.approx(0.05), img_path='5.png')
    va = dict(sample_idx=np.arange(3), pred_va=np.array([[0, 0], [.5, .5], [0, .1]]),
              gt_va=np.array([[0, 0], [-.5, .5], [-5, -5]]))
    assert [w['index'] for w in worst_cases(va, 5)] == [1, 0]  # -5 (unannotated) skipped
    assert va_report(va)['num_valid'] == 2
    torch.save({'state_dict': {}}, str(tmp_path / 'ckpt.pth'))
    with pytest.raises(ValueError, match='is not a prediction dump'):
        load_predictions(str(tmp_path / 'ckpt.pth'))


@pytest.mark.slow  # two tool processes on the tiny RAF-DB set: ~40 s on 2 loaded cores
def test_dump_then_analyze(tmp_path, tiny_eval_data):
    cfg = Config.fromfile(osp.join(REPO, TOY))
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, ckpt)
    dump, work = str(tmp_path / 'preds.pth'), str(tmp_path / 'work')
    _run(['tools/test.py', TOY, ckpt, '--dump', dump, '--work-dir', work, '--cfg-options',
          f'test_dataloader.dataset.data_root={tiny_eval_data / "rafdb"}',
          'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'])
    metrics = json.load(open(osp.join(work, 'metrics.json')))
    preds = load_predictions(dump)
    assert preds['pred_score'].shape == (14, 7) and len(preds['img_path']) == 14
    assert list(preds['sample_idx']) == list(range(14))
    assert preds['classes'][0] == 'Surprise'
    acc = 100 * (preds['pred_score'].argmax(1) == preds['gt_label']).mean()
    assert acc == pytest.approx(metrics['fer']['accuracy'], abs=1e-4)
    out = str(tmp_path / 'analysis')
    proc = _run(['tools/analysis_tools/analyze_results.py', dump, '--out-dir', out,
                 '--topk', '5', '--cols', '3'])
    rows = list(csv.DictReader(open(osp.join(out, 'per_class.csv'))))
    assert [r['class'] for r in rows] == preds['classes']
    for r in rows:  # recall = the metric's per-class accuracy
        if int(r['support']):
            assert float(r['recall']) == pytest.approx(metrics['fer']['acc'][r['class']],
                                                       abs=1e-3)
    worst = list(csv.DictReader(open(osp.join(out, 'worst_cases.csv'))))
    assert 1 <= len(worst) <= 5
    assert all(r['gt'] != r['pred'] for r in worst)
    grid = cv2.imread(osp.join(out, 'worst_cases.png'))
    assert grid is not None and grid.shape[1] >= min(3, len(worst)) * 112
    assert proc.stdout.splitlines()[-1] == f'table: {osp.join(out, "per_class.csv")}'


@pytest.mark.slow  # a 2-iteration training run in a subprocess
def test_train_tensorboard_flag(tmp_path, tiny_cls_config, write_class_folders):
    pytest.importorskip('tensorboard', reason='the [tensorboard] extra is not installed')
    data = write_class_folders(str(tmp_path / 'data'))
    work = str(tmp_path / 'work')
    _run(['tools/train.py', tiny_cls_config, '--work-dir', work, '--tensorboard',
          '--cfg-options', f'train_dataloader.dataset.data_root={data}',
          'train_cfg.max_iters=2'])
    assert glob.glob(osp.join(work, '*', 'vis_data', 'events.out.tfevents.*'))
    assert glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))  # local logs kept
