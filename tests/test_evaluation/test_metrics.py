# Copyright (c) mmfer contributors. All rights reserved.

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample
from sklearn import metrics as skm

from mmfer.evaluation import functional as FM
from mmfer.registry import METRICS

CLASSES = ('Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness', 'Anger', 'Neutral')


def _run(metric_cfg, samples, batch=16, dataset_meta=None):
    evaluator = Evaluator(METRICS.build(metric_cfg))
    if dataset_meta is not None:
        evaluator.dataset_meta = dataset_meta
    for i in range(0, len(samples), batch):
        evaluator.process(samples[i:i + batch])
    return evaluator.evaluate(len(samples))


def test_fer_cls_metric_matches_sklearn(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 7, 120)
    scores = rng.random((120, 7))
    scores[np.arange(120), gt] += rng.random(120) * 0.8  # ~ 60-70 % accuracy
    pred = scores.argmax(1)
    samples = [DataSample().set_gt_label(int(g)).set_pred_score(torch.from_numpy(s).float())
               for g, s in zip(gt, scores)]
    res = _run(dict(type='FERClsMetric', cm_dir=str(tmp_path / 'cm')), samples,
               dataset_meta=dict(classes=CLASSES))
    assert res['fer/accuracy'] == pytest.approx(100 * skm.accuracy_score(gt, pred), abs=1e-6)
    assert res['fer/macro_f1'] == pytest.approx(
        100 * skm.f1_score(gt, pred, average='macro', labels=range(7), zero_division=0),
        abs=1e-6)
    assert res['fer/mean_class_accuracy'] == pytest.approx(
        100 * skm.balanced_accuracy_score(gt, pred), abs=1e-6)
    f1 = skm.f1_score(gt, pred, average=None, labels=range(7))
    rec = skm.recall_score(gt, pred, average=None, labels=range(7))
    for i, name in enumerate(CLASSES):
        assert res[f'fer/f1/{name}'] == pytest.approx(100 * f1[i], abs=1e-6)
        assert res[f'fer/acc/{name}'] == pytest.approx(100 * rec[i], abs=1e-6)
    png = tmp_path / 'cm' / 'confusion_matrix_0.png'
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] > 100 and img.std() > 10
    np.testing.assert_array_equal(np.load(tmp_path / 'cm' / 'confusion_matrix_0.npy'),
                                  skm.confusion_matrix(gt, pred, labels=range(7)))


def test_fer_cls_metric_from_pred_labels_and_missing_key():
    samples = [dict(pred_label=torch.tensor([p]), gt_label=torch.tensor([g]))
               for p, g in [(0, 0), (1, 0), (2, 2), (2, 2)]]
    res = _run(dict(type='FERClsMetric', num_classes=3, per_class=False, prefix='x'),
               samples)
    assert res == pytest.approx({'x/accuracy': 75.0, 'x/mean_class_accuracy': 75.0,
                                 'x/macro_f1': 100 * (2 / 3 + 0 + 1) / 3})
    with pytest.raises(KeyError, match='gt_label'):
        _run(dict(type='FERClsMetric'), [dict(pred_label=torch.tensor([0]))])


def test_va_metric_ccc_rmse_and_unannotated():
    rng = np.random.default_rng(1)
    gt = rng.uniform(-1, 1, (90, 2))
    pred = np.clip(gt * 0.8 + rng.normal(0, 0.2, (90, 2)), -1, 1)
    gt_masked = gt.copy()
    gt_masked[:10, 1] = -5  # ABAW: not annotated
    samples = [dict(pred_va=torch.from_numpy(p), gt_va=torch.from_numpy(g))
               for p, g in zip(pred, gt_masked)]
    res = _run(dict(type='VAMetric'), samples)
    v_ccc = FM.ccc(pred[:, 0], gt[:, 0])
    a_ccc = FM.ccc(pred[10:, 1], gt[10:, 1])
    assert res['va/ccc/valence'] == pytest.approx(v_ccc, abs=1e-9)
    assert res['va/ccc/arousal'] == pytest.approx(a_ccc, abs=1e-9)
    assert res['va/ccc/mean'] == pytest.approx((v_ccc + a_ccc) / 2, abs=1e-9)
    assert res['va/rmse/arousal'] == pytest.approx(
        np.sqrt(skm.mean_squared_error(gt[10:, 1], pred[10:, 1])), abs=1e-9)
    with pytest.raises(ValueError, match='2 values'):
        _run(dict(type='VAMetric'), [dict(pred_va=torch.zeros(3), gt_va=torch.zeros(2))])


def test_au_f1_metric_matches_sklearn():
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 2, (80, 5)).astype(np.float32)
    scores = np.clip(gt * 0.5 + rng.random((80, 5)) * 0.6, 0, 1).astype(np.float32)
    gt[rng.random((80, 5)) < 0.15] = -1
    names = ('AU1', 'AU2', 'AU4', 'AU6', 'AU12')
    samples = [dict(pred_score=torch.from_numpy(s), gt_score=torch.from_numpy(g))
               for s, g in zip(scores, gt)]
    res = _run(dict(type='AUF1Metric', threshold=0.4, au_names=names), samples)
    f1s = []
    for j, n in enumerate(names):
        known = gt[:, j] >= 0
        f1s.append(skm.f1_score(gt[known, j], scores[known, j] >= 0.4))
        assert res[f'au/f1/{n}'] == pytest.approx(100 * f1s[-1], abs=1e-6)
    assert res['au/f1/mean'] == pytest.approx(100 * np.mean(f1s), abs=1e-6)


def test_triplet_accuracy_metric():
    rng = np.random.default_rng(3)
    samples, expected = [], {'l2': 0, 'cosine': 0}
    for i in range(40):
        emb = rng.standard_normal((3, 8))
        odd = int(rng.integers(0, 3))
        samples.append(dict(pred_embeddings=torch.from_numpy(emb), gt_label=odd,
                            triplet_type='one_class' if i % 2 else 'two_class'))
        for m in expected:
            expected[m] += int(FM.triplet_predict_odd(emb[:1], emb[1:2], emb[2:], m)[0] == odd)
    res = _run(dict(type='TripletAccuracy'), samples)
    assert res['fec/accuracy_l2'] == pytest.approx(100 * expected['l2'] / 40)
    assert res['fec/accuracy_cosine'] == pytest.approx(100 * expected['cosine'] / 40)
    assert 'fec/accuracy_l2_one_class' in res and 'fec/accuracy_cosine_two_class' in res
    # metrics.json nests the keys: the overall and the per-type accuracies sit side by side
    # (they used to collide: 'accuracy_l2' was both a value and a group)
    from mmfer.evaluation.results import nest_metrics
    nested = nest_metrics(res)['fec']
    odd_ones = [s['triplet_type'] == 'one_class' for s in samples]
    assert nested['accuracy_l2'] == res['fec/accuracy_l2']
    assert sum(odd_ones) == 20 and set(nested) == {
        'accuracy_l2', 'accuracy_cosine', 'accuracy_l2_one_class', 'accuracy_l2_two_class',
        'accuracy_cosine_one_class', 'accuracy_cosine_two_class'}
