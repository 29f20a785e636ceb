# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from mmfer.evaluation import functional as FM


@pytest.fixture
def cls_data():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 7, 500)
    pred = np.where(rng.random(500) < 0.6, gt, rng.integers(0, 7, 500))
    pred[pred == 5] = 4  # class 5 never predicted: zero-division branch of F1
    return pred, gt


def test_confusion_matrix_and_f1_match_sklearn(cls_data):
    pred, gt = cls_data
    labels = list(range(8))  # class 7 absent from both: F1 0, still in the macro mean
    np.testing.assert_array_equal(
        FM.confusion_matrix(pred, gt, 8), skm.confusion_matrix(gt, pred, labels=labels))
    np.testing.assert_allclose(
        FM.per_class_f1(pred, gt, 8),
        skm.f1_score(gt, pred, labels=labels, average=None, zero_division=0), atol=1e-6)
    assert FM.macro_f1(pred, gt, 8) == pytest.approx(
        skm.f1_score(gt, pred, labels=labels, average='macro', zero_division=0), abs=1e-6)
    assert FM.macro_f1(pred, gt, 8) < FM.macro_f1(pred, gt, 7)
    assert FM.accuracy(torch.from_numpy(pred), gt) == pytest.approx(
        skm.accuracy_score(gt, pred), abs=1e-12)
    pca = FM.per_class_accuracy(pred, gt, 8)
    np.testing.assert_allclose(
        pca[:7], skm.recall_score(gt, pred, labels=labels[:7], average=None), atol=1e-6)
    assert np.isnan(pca[7])
    assert FM.mean_class_accuracy(pred, gt, 8) == pytest.approx(
        skm.balanced_accuracy_score(gt, pred), abs=1e-6)


def test_scores_argmax_and_errors(cls_data):
    pred, gt = cls_data
    scores = np.eye(7)[pred] * 0.9 + 0.01
    np.testing.assert_array_equal(FM.confusion_matrix(scores, gt),
                                  FM.confusion_matrix(pred, gt, 7))
    with pytest.raises(ValueError, match='labels must lie'):
        FM.confusion_matrix([0, 9], [0, 1], num_classes=3)
    with pytest.raises(ValueError, match='samples'):
        FM.accuracy([0, 1], [0])


def test_ccc_formula_and_rmse():
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, 300)
    p = 0.7 * t + 0.2 + rng.normal(0, 0.2, 300)
    mp, mt = p.mean(), t.mean()
    cov = np.mean((p - mp) * (t - mt))
    expected = 2 * cov / (p.var() + t.var() + (mp - mt)**2)
    assert FM.ccc(p, t) == pytest.approx(expected, abs=1e-12)
    assert FM.ccc(t, t) == pytest.approx(1.0)
    assert FM.ccc(2 * t.mean() - t, t) == pytest.approx(-1.0)  # mirrored about the mean
    assert FM.ccc(t + 0.5, t) < 1.0  # bias is penalised, unlike Pearson
    assert np.corrcoef(t + 0.5, t)[0, 1] == pytest.approx(1.0)
    assert FM.rmse(p, t) == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)), abs=1e-12)


def test_multilabel_f1_with_unknown_mask():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 2, (200, 12)).astype(float)
    scores = np.clip(gt * 0.6 + rng.random((200, 12)) * 0.5, 0, 1)
    gt[rng.random((200, 12)) < 0.1] = -1
    extra = rng.random((200, 12)) > 0.05
    f1 = FM.multilabel_f1(scores, gt, threshold=0.5, mask=extra)
    for j in range(12):
        known = (gt[:, j] >= 0) & extra[:, j]
        ref = skm.f1_score(gt[known, j], scores[known, j] >= 0.5, zero_division=0)
        assert f1[j] == pytest.approx(ref, abs=1e-6)
    # the unknown entries really are excluded: treating -1 as negative changes the score
    naive = skm.f1_score(np.clip(gt[:, 0], 0, 1), scores[:, 0] >= 0.5)
    assert f1[0] != pytest.approx(naive, abs=1e-6)


def test_triplet_accuracy_l2_and_cosine():
    a = np.array([[1.0, 0.0], [1.0, 0.0]])
    b = np.array([[0.9, 0.1], [10.0, 0.0]])   # same direction as a in row 1, far in l2
    c = np.array([[0.0, 1.0], [1.0, 0.5]])
    # row 0: a~b -> c odd (2) for both; row 1: l2 closest pair (a, c) -> b odd (1),
    # cosine: a and b identical direction -> c odd (2)
    np.testing.assert_array_equal(FM.triplet_predict_odd(a, b, c, 'l2'), [2, 1])
    np.testing.assert_array_equal(FM.triplet_predict_odd(a, b, c, 'cosine'), [2, 2])
    assert FM.triplet_accuracy(a, b, c, [2, 2], 'l2') == 0.5
    assert FM.triplet_accuracy(a, b, c, [2, 2], 'cosine') == 1.0
    with pytest.raises(ValueError, match="'l2' or 'cosine'"):
        FM.triplet_predict_odd(a, b, c, 'l1')
