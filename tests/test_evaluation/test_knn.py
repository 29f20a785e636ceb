# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.neighbors import KNeighborsClassifier

from mmfer.evaluation import knn_predict


def _sklearn(train, labels, test, k, weighting, t=0.07):
    weights = 'uniform' if weighting == 'uniform' else (lambda d: np.exp((1 - d) / t))
    clf = KNeighborsClassifier(n_neighbors=k, algorithm='brute', metric='cosine',
                               weights=weights)
    return clf.fit(train, labels).predict(test)


def _exact(train, labels, test, k, weighting, t=0.07):
    """float64 brute force with mmfer's tie rule: equal similarities -> lower index first
    (scikit-learn leaves the order of exactly equal distances unspecified)."""
    train = F.normalize(torch.as_tensor(train, dtype=torch.float64), dim=1)
    test = F.normalize(torch.as_tensor(test, dtype=torch.float64), dim=1)
    sims = test @ train.T
    order = sims.argsort(dim=1, descending=True, stable=True)[:, :k]
    top = sims.gather(1, order)
    weights = torch.exp(top / t) if weighting == 'exp' else torch.ones_like(top)
    votes = torch.zeros(len(test), int(labels.max()) + 1, dtype=torch.float64)
    votes.scatter_add_(1, torch.as_tensor(labels)[order], weights)
    return votes.argmax(1).numpy()


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


@pytest.mark.parametrize('chunk_size, bank_chunk_size', [(None, None), (64, 257), (1, 40),
                                                         (500, 1000)])
def test_knn_segments_and_chunks_do_not_change_predictions(chunk_size, bank_chunk_size):
    # float32 features with exact duplicates (ties broken by the lower training index)
    # and clusters, searched in bank segments of several sizes (the candidates of each
    # segment are merged); every setting must give the float64 brute-force predictions
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((5, 32))
    labels = rng.integers(0, 5, 1200)
    train = (centres[labels] + rng.standard_normal((1200, 32))).astype(np.float32)
    train[600:700] = train[:100]  # duplicates with other labels
    labels[600:700] = (labels[:100] + 1) % 5
    test = np.concatenate([train[:60], rng.standard_normal((140, 32)).astype(np.float32)])
    for k, weighting in ((1, 'exp'), (7, 'uniform'), (20, 'exp')):
        ref = _exact(train, labels, test, k, weighting)
        pred = knn_predict(train, labels, test, k, weighting=weighting, chunk_size=chunk_size,
                           bank_chunk_size=bank_chunk_size)
        np.testing.assert_array_equal(pred.numpy(), ref)
    # k=1 on a duplicated vector: the lower index (label of row i, not of row 600 + i),
    # also with two worker threads (each searching its own query chunks)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        pred = knn_predict(train, labels, train[:100], 1, chunk_size=chunk_size,
                           bank_chunk_size=bank_chunk_size)
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(pred.numpy(), labels[:100])


def test_knn_differences_below_float32_resolution():
    # two neighbours whose cosines differ by ~3.5e-12: equal in float32, ordered in
    # float64; the approximate vote cannot be proven right, so the float64 re-scoring decides
    train = np.array([[1.0, 1.0 + 1e-11], [1.0, 1.0], [-1.0, 0.0]])
    labels = np.array([2, 1, 0])
    query = np.array([[1.0, 0.0]])
    unit32 = F.normalize(torch.from_numpy(train[:2]), dim=1).float()
    assert torch.equal(unit32[0], unit32[1])
    assert knn_predict(train, labels, query, 1).item() == 1  # not the lower index 0
    assert knn_predict(train[[1, 0, 2]], labels[[1, 0, 2]], query, 1).item() == 1
    # exp weights: classes 1 and 2 tie in float32, class 1 wins by ~1e-10 in float64
    assert knn_predict(train, labels, query, 2).item() == 1
    assert _sklearn(train, labels, query, 2, 'exp')[0] == 1


def test_knn_exact_under_reduced_matmul_precision():
    # a user's global 'bf16' float32-matmul setting would void the float32 error bound:
    # knn_predict computes its products in full float32 and restores the setting
    backend = getattr(torch.backends, 'mkldnn', None)
    if backend is None or not hasattr(backend.matmul, 'fp32_precision'):
        pytest.skip('torch without the fp32_precision switch')
    rng = np.random.default_rng(4)
    train = rng.standard_normal((800, 48)).astype(np.float32)
    labels = rng.integers(0, 4, 800)
    test = rng.standard_normal((100, 48)).astype(np.float32)
    ref = _sklearn(train.astype(np.float64), labels, test.astype(np.float64), 10, 'exp')
    prev = backend.matmul.fp32_precision
    try:
        backend.matmul.fp32_precision = 'bf16'
        pred = knn_predict(train, labels, test, 10)
        assert backend.matmul.fp32_precision == 'bf16'
    finally:
        backend.matmul.fp32_precision = prev
    np.testing.assert_array_equal(pred.numpy(), ref)


def test_knn_non_finite_features_and_empty_queries():
    x = torch.randn(10, 4)
    y = torch.arange(10) % 2
    bad = x.clone()
    bad[7, 2] = float('nan')
    with pytest.raises(ValueError, match='train_feats .* row 7'):
        knn_predict(bad, y, x, 3)
    bad[7, 2] = float('inf')
    with pytest.raises(ValueError, match='test_feats .* row 7'):
        knn_predict(x, y, bad, 3)
    with pytest.raises(ValueError, match='bank_chunk_size'):
        knn_predict(x, y, x, 3, bank_chunk_size=0)
    assert knn_predict(x, y, x[:0], 3).shape == (0, )


def test_knn_without_mkl_packing_is_identical(monkeypatch):
    """The packed-GEMM path uses private torch ops; where they are missing, ``_mkl_pack``
    returns None and plain ``torch.mm`` runs the same search: identical predictions."""
    import mmfer.evaluation.knn as knn_mod
    rng = np.random.default_rng(3)
    train = rng.standard_normal((3000, 32)).astype(np.float32)
    labels = rng.integers(0, 5, 3000)
    test = rng.standard_normal((300, 32)).astype(np.float32)
    packed = knn_predict(train, labels, test, 10)
    calls = []
    monkeypatch.setattr(knn_mod, '_mkl_pack', lambda *a, **kw: calls.append(1))
    plain = knn_predict(train, labels, test, 10)
    assert calls, 'the fallback path was not reached'
    torch.testing.assert_close(plain, packed, rtol=0, atol=0)
    np.testing.assert_array_equal(plain.numpy(), _exact(train, labels, test, 10, 'exp'))
