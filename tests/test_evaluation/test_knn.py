# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from mmfer.evaluation import knn_predict


def _sklearn(train, labels, test, k, weighting, t=0.07):
    weights = 'uniform' if weighting == 'uniform' else (lambda d: np.exp((1 - d) / t))
    clf = KNeighborsClassifier(n_neighbors=k, algorithm='brute', metric='cosine',
                               weights=weights)
    return clf.fit(train, labels).predict(test)


@pytest.mark.parametrize('weighting', ['exp', 'uniform'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_knn_matches_sklearn(weighting, dtype):
    rng = np.random.default_rng(0)
    train = rng.standard_normal((1500, 24)) * rng.uniform(0.5, 3, (1500, 1))  # not unit
    labels = rng.integers(0, 6, 1500)
    test = rng.standard_normal((400, 24))
    for k in (1, 4, 10, 20):  # even k + uniform: vote ties -> smaller class wins
        ref = _sklearn(train, labels, test, k, weighting)
        pred = knn_predict(train, labels, test, k, weighting=weighting, approx_dtype=dtype,
                           chunk_size=37)
        assert pred.dtype == torch.long and pred.shape == (400, )
        np.testing.assert_array_equal(pred.numpy(), ref)


def test_knn_vote_ties_and_similarity_ties():
    # two training points, identical similarity to the query, different labels:
    # a uniform 2-NN vote ties 1:1 -> smallest class (sklearn's rule)
    train = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 0.0]])
    labels = torch.tensor([3, 1, 0])
    query = torch.tensor([[1.0, 0.0]])
    assert knn_predict(train, labels, query, 2, weighting='uniform').item() == 1
    assert knn_predict(train, labels, query, 2, weighting='exp').item() == 1
    # k=1 with a similarity tie: the lower training index wins
    assert knn_predict(train, labels, query, 1).item() == 3


def test_knn_temperature_changes_weighted_vote():
    # one very close neighbour of class 0 vs three farther ones of class 1
    train = torch.tensor([[1.0, 0.0], [0.5, 1.0], [0.5, 1.1], [0.5, 0.9]])
    labels = torch.tensor([0, 1, 1, 1])
    query = torch.tensor([[1.0, 0.05]])
    assert knn_predict(train, labels, query, 4, temperature=0.07).item() == 0
    assert knn_predict(train, labels, query, 4, temperature=100.0).item() == 1
    assert knn_predict(train, labels, query, 4, weighting='uniform').item() == 1


def test_knn_uncertified_rows_fall_back_to_exact():
    # many near-duplicate training points: candidates cannot be certified with 1 extra
    rng = np.random.default_rng(5)
    base = rng.standard_normal(16)
    train = base + 1e-4 * rng.standard_normal((300, 16))
    labels = rng.integers(0, 3, 300)
    test = base[None] + 1e-4 * rng.standard_normal((20, 16))
    ref = _sklearn(train, labels, test, 5, 'uniform')
    pred = knn_predict(train, labels, test, 5, weighting='uniform',
                       approx_dtype=torch.bfloat16, extra_candidates=1)
    np.testing.assert_array_equal(pred.numpy(), ref)


def test_knn_bad_inputs():
    x = torch.randn(10, 4)
    y = torch.arange(10) % 2
    with pytest.raises(ValueError, match='k must be'):
        knn_predict(x, y, x, 11)
    with pytest.raises(ValueError, match='same D'):
        knn_predict(x, y, torch.randn(3, 5), 1)
    with pytest.raises(ValueError, match='weighting'):
        knn_predict(x, y, x, 1, weighting='distance')
    with pytest.raises(ValueError, match='num_classes'):
        knn_predict(x, y, x, 1, num_classes=1)
