# Copyright (c) mmfer contributors. All rights reserved.
"""Frozen-feature metrics: pure functions and the registered metric classes."""
import numpy as np
import pytest
import torch

from mmfer.evaluation import (EffectiveRank, IdentityNN, KNNAccuracy, LinearProbe,
                              format_results_table, knn_predict, nest_metrics)
from mmfer.evaluation import functional as FM
from mmfer.registry import METRICS


def _sets(seed=0):
    g = torch.Generator().manual_seed(seed)
    bank = torch.randn(30, 8, generator=g)
    bank_y = torch.arange(30) % 3
    query = bank[:12] + 0.05 * torch.randn(12, 8, generator=g)
    return bank, bank_y, query, bank_y[:12].clone()


def test_knn_accuracy_function_and_metric():
    bank, bank_y, query, query_y = _sets()
    res = FM.knn_accuracy(bank, bank_y, query, query_y, topk=(1, 5, 50), num_classes=3)
    assert sorted(res) == [1, 5, 30]  # 50 > 30 bank samples: the k actually used
    assert res[30]['k_requested'] == 50 and res[5]['k_requested'] == 5
    pred = knn_predict(bank, bank_y, query, 5, num_classes=3)
    assert res[5]['accuracy'] == FM.accuracy(pred, query_y)
    assert res[1]['accuracy'] == 1.0  # each query sits next to its own bank sample
    metric = METRICS.build(dict(type='KNNAccuracy', topk=(1, 50)))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.set_bank(dict(feats=bank, gt_label=bank_y))
    metric.process(None, [dict(feat=f, gt_label=int(y)) for f, y in zip(query, query_y)])
    out = metric.compute_metrics(metric.results)
    assert out['k=1/accuracy'] == 100.0 and out['k=30/k_requested'] == 50
    assert 'k=50/accuracy' not in out and out['k=30/k'] == 30
    assert out['k=30/accuracy'] == pytest.approx(100 * res[30]['accuracy'])
    with pytest.raises(ValueError, match='compares the query set with a labelled bank'):
        KNNAccuracy().compute_metrics([dict(feat=query[0], gt_label=0)])
    for bad in (dict(topk=(0, )), dict(temperature=0), dict(weighting='cos')):
        with pytest.raises(ValueError):
            KNNAccuracy(**bad)


def test_linear_probe_metric_reports_choice():
    bank, bank_y, query, query_y = _sets()
    ids = torch.arange(30) // 3  # 10 people
    metric = LinearProbe(wd_grid=(1e-3, 1.0), epochs=20)
    metric.set_bank(dict(feats=bank, gt_label=bank_y, identity=ids))
    out = metric.compute(dict(feats=query, gt_label=query_y), metric.bank)
    assert out['selection'] == 'validation' and out['val/grouped'] == 1
    assert set(k for k in out if k.startswith('val/accuracy/')) == {
        'val/accuracy/wd=0.001', 'val/accuracy/wd=1'}
    assert out['weight_decay'] in (1e-3, 1.0) and 0 <= out['accuracy'] <= 100
    fixed = LinearProbe(weight_decay=1e-4, epochs=20).compute(
        dict(feats=query, gt_label=query_y), dict(feats=bank, gt_label=bank_y))
    assert fixed['selection'] == 'fixed' and not any(k.startswith('val/') for k in fixed)
    with pytest.raises(ValueError, match='epochs must be a positive integer'):
        LinearProbe(epochs=0)
    with pytest.raises(KeyError, match="LinearProbe: the bank samples have no 'gt_label'"):
        LinearProbe().compute(dict(feats=query, gt_label=query_y), dict(feats=bank))


def test_identity_nn():
    # two people, each with two views close together: every nearest other sample matches
    feats = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.7, 0.7]])
    ids = ['ann', 'ann', 'bob', 'bob', 'cid']  # cid appears once: not a query
    res = FM.identity_nn_accuracy(feats, ids)
    assert res == dict(accuracy=1.0, num_queries=4)
    assert FM.identity_nn_accuracy(feats, ids, chunk_size=2) == res  # blocks of 2 queries
    swapped = FM.identity_nn_accuracy(feats, ['ann', 'bob', 'bob', 'ann', 'cid'])
    assert swapped['accuracy'] == 0.0
    metric = IdentityNN()
    out = metric.compute(dict(feats=feats, identity=torch.tensor([0, 0, 1, 1, 2])))
    assert out == dict(accuracy=100.0, num_queries=4)
    with pytest.raises(KeyError, match="IdentityNN: the query samples have no 'identity'"):
        metric.compute(dict(feats=feats))
    with pytest.raises(ValueError, match='no identity occurs twice'):
        FM.identity_nn_accuracy(feats, [0, 1, 2, 3, 4])


def test_effective_rank():
    rng = np.random.default_rng(0)
    # 3 orthogonal directions with equal energy -> effective rank 3, 3 PCs for 90 %
    basis = np.linalg.qr(rng.standard_normal((16, 3)))[0].T
    coef = np.repeat(np.eye(3), 50, axis=0) * 2.0
    res = FM.effective_rank(coef @ basis)
    assert res['effective_rank'] == pytest.approx(3.0, abs=1e-6)
    assert res['dim'] == 16
    # one dominant direction: collapse is visible in both numbers
    x = rng.standard_normal((200, 16)) * np.r_[10.0, np.full(15, 0.1)]
    res = FM.effective_rank(x)
    assert res['num_components'] == 1 and res['effective_rank'] < 3
    iso = FM.effective_rank(rng.standard_normal((500, 16)))
    assert iso['num_components'] >= 13 and iso['effective_rank'] > 14
    out = EffectiveRank(variance=0.5).compute(dict(feats=torch.from_numpy(x)))
    assert out['pcs_50'] == 1 and out['dim'] == 16


def test_verification_accuracy():
    same = [True, False] * 10
    sims = [0.9 if s else 0.1 for s in same]
    assert FM.verification_accuracy(sims, same) == 1.0
    sims[0] = 0.0  # one same pair below every different pair: 19 of 20 right
    assert FM.verification_accuracy(sims, same) == pytest.approx(0.95)


def test_nest_and_table():
    flat = {'knn/k=10/accuracy': 50.0, 'knn/k=10/macro_f1': 40.0, 'knn/k=10/temperature': 0.07,
            'knn/k=10/weighting': 'exp', 'linear/accuracy': 60.0, 'linear/macro_f1': 55.0,
            'linear/weight_decay': 1e-3, 'linear/selection': 'validation',
            'fec/accuracy_l2': 70.0, 'fec/accuracy_cosine': 71.0, 'num_query': 14,
            'fer/accuracy': 80.0, 'fer/acc/Happy': 90.0}
    nested = nest_metrics(flat)
    assert nested['knn']['k=10']['accuracy'] == 50.0 and nested['num_query'] == 14
    assert nested['fer']['acc']['Happy'] == 90.0
    table = format_results_table(flat)
    assert '| k-NN k=10 (exp, T=0.07)' in table
    assert 'linear probe (wd=0.001, chosen on validation)' in table
    assert 'FEC triplet acc. (cosine)' in table and '| fer/accuracy' in table
    assert 'Happy' not in table  # per-class values stay in metrics.json
    with pytest.raises(ValueError, match='also a group'):
        nest_metrics({'a/b': 1, 'a': 2})
