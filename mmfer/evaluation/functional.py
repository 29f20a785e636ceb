# Copyright (c) mmfer contributors. All rights reserved.
"""Pure metric functions used by mmfer's metrics, hooks, tools and tests.

All functions accept numpy arrays, torch tensors or sequences and return numpy values
(float64). Conventions follow scikit-learn so that results can be checked against it:

- :func:`confusion_matrix`: rows are ground truth, columns are predictions
  (``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(C))``).
- :func:`per_class_f1` / :func:`macro_f1`: ``sklearn.metrics.f1_score(y_true, y_pred,
  labels=range(C), average=None|'macro', zero_division=0)``; a class with no ground truth
  and no prediction has F1 0 and still counts in the macro mean over all ``C`` classes
  (the ABAW / SSL-FER convention of averaging over every class).
- :func:`per_class_accuracy`: recall of every class (``recall_score(average=None)``);
  ``nan`` for a class without ground-truth samples; :func:`mean_class_accuracy` ignores those.
- :func:`ccc`: Lin's concordance correlation coefficient with population (biased) moments,
  ``2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2)``.

Functions on frozen features (fractions in [0, 1], not percentages; the metric classes in
:mod:`mmfer.evaluation.metrics` report percentages): :func:`knn_accuracy` (weighted k-NN of
a query set against a labelled bank), :func:`identity_nn_accuracy` (leave-one-out nearest
neighbour's identity), :func:`effective_rank` (RankMe effective rank and the number of
principal components for a share of the variance) and :func:`verification_accuracy`
(face-verification accuracy with a threshold chosen on the other folds). The linear probe is
:func:`mmfer.evaluation.linear_probe_eval`.
"""
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence]

__all__ = [
    'to_numpy', 'get_field', 'confusion_matrix', 'accuracy', 'per_class_accuracy',
    'mean_class_accuracy', 'per_class_f1', 'macro_f1', 'ccc', 'rmse', 'multilabel_f1',
    'triplet_predict_odd', 'triplet_accuracy', 'knn_accuracy', 'identity_nn_accuracy',
    'effective_rank', 'verification_accuracy'
]


def to_numpy(x: ArrayLike, dtype=None) -> np.ndarray:
    """Convert a tensor / array / sequence to a numpy array (on CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    return arr.astype(dtype) if dtype is not None else arr


def get_field(sample: Any, key: str, metric: str) -> Any:
    """``sample[key]`` for a dict or a DataSample, with an error naming the metric and key."""
    if isinstance(sample, Mapping):
        if key in sample:
            return sample[key]
    elif hasattr(sample, key):
        return getattr(sample, key)
    keys = list(sample.keys()) if hasattr(sample, 'keys') else dir(sample)
    raise KeyError(f'{metric}: data sample has no {key!r} (available: {sorted(keys)}); '
                   f'set the metric\'s key arguments to the fields your model writes')


def _labels(pred: ArrayLike, target: ArrayLike, num_classes: Optional[int]):
    pred = to_numpy(pred)
    target = to_numpy(target).astype(np.int64).reshape(-1)
    if pred.ndim == 2:  # scores (N, C)
        if num_classes is None:
            num_classes = pred.shape[1]
        pred = pred.argmax(axis=1)
    pred = pred.astype(np.int64).reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(f'pred has {pred.shape[0]} samples but target has '
                         f'{target.shape[0]}')
    if num_classes is None:
        num_classes = int(max(pred.max(initial=-1), target.max(initial=-1))) + 1
    for name, arr in (('pred', pred), ('target', target)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f'{name} labels must lie in [0, {num_classes}), got '
                             f'[{arr.min()}, {arr.max()}]')
    return pred, target, num_classes


def confusion_matrix(pred: ArrayLike, target: ArrayLike,
                     num_classes: Optional[int] = None) -> np.ndarray:
    """Confusion matrix, rows = ground truth, columns = prediction.

    Args:
        pred: Predicted labels (N,) or scores (N, C) (argmax is taken).
        target: Ground-truth labels (N,).
        num_classes (int, optional): C. Defaults to max label + 1 (or the score width).

    Returns:
        np.ndarray: int64 (C, C) counts.
    """
    pred, target, c = _labels(pred, target, num_classes)
    return np.bincount(target * c + pred, minlength=c * c).reshape(c, c).astype(np.int64)


def accuracy(pred: ArrayLike, target: ArrayLike) -> float:
    """Top-1 accuracy in [0, 1] (labels (N,) or scores (N, C))."""
    pred, target, _ = _labels(pred, target, None)
    if target.size == 0:
        raise ValueError('accuracy of an empty set is undefined')
    return float((pred == target).mean())


def per_class_accuracy(pred: ArrayLike, target: ArrayLike,
                       num_classes: Optional[int] = None) -> np.ndarray:
    """Per-class accuracy (= recall), (C,) float64; ``nan`` where a class has no samples."""
    cm = confusion_matrix(pred, target, num_classes).astype(np.float64)
    support = cm.sum(axis=1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)


def mean_class_accuracy(pred: ArrayLike, target: ArrayLike,
                        num_classes: Optional[int] = None) -> float:
    """Mean of :func:`per_class_accuracy` over classes that have samples (balanced acc.)."""
    return float(np.nanmean(per_class_accuracy(pred, target, num_classes)))


def per_class_f1(pred: ArrayLike, target: ArrayLike,
                 num_classes: Optional[int] = None) -> np.ndarray:
    """Per-class F1, (C,) float64; 0 where precision and recall are both undefined."""
    cm = confusion_matrix(pred, target, num_classes).astype(np.float64)
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # (tp + fp) + (tp + fn)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1e-300), 0.0)


def macro_f1(pred: ArrayLike, target: ArrayLike, num_classes: Optional[int] = None) -> float:
    """Unweighted mean of :func:`per_class_f1` over all ``num_classes`` classes."""
    return float(per_class_f1(pred, target, num_classes).mean())


def _pair(pred: ArrayLike, target: ArrayLike):
    p = to_numpy(pred, np.float64).reshape(-1)
    t = to_numpy(target, np.float64).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f'pred has {p.size} values but target has {t.size}')
    if p.size == 0:
        raise ValueError('metric of an empty set is undefined')
    return p, t


def ccc(pred: ArrayLike, target: ArrayLike) -> float:
    """Concordance correlation coefficient (population moments), in [-1, 1].

    ``2 * cov(p, t) / (var(p) + var(t) + (mean(p) - mean(t)) ** 2)``; 0 when the
    denominator is 0 (both constant and equal means would be a perfect but degenerate fit).
    """
    p, t = _pair(pred, target)
    mp, mt = p.mean(), t.mean()
    vp, vt = ((p - mp)**2).mean(), ((t - mt)**2).mean()
    cov = ((p - mp) * (t - mt)).mean()
    denom = vp + vt + (mp - mt)**2
    return float(2 * cov / denom) if denom > 0 else 0.0


def rmse(pred: ArrayLike, target: ArrayLike) -> float:
    """Root mean squared error."""
    p, t = _pair(pred, target)
    return float(np.sqrt(((p - t)**2).mean()))


def multilabel_f1(pred: ArrayLike, target: ArrayLike, threshold: float = 0.5,
                  mask: Optional[ArrayLike] = None) -> np.ndarray:
    """Per-label binary F1 of a multi-label task (e.g. action units).

    Args:
        pred: Scores / probabilities (N, A); ``pred >= threshold`` is positive. Binary
            predictions (0/1) work with any threshold in (0, 1].
        target: Binary ground truth (N, A); entries < 0 (e.g. ``-1`` = not annotated) are
            treated as unknown and ignored.
        threshold (float): Decision threshold. Defaults to 0.5.
        mask: Optional (N, A) bool/0-1 array, True where the label is known; combined (and)
            with ``target >= 0``.

    Returns:
        np.ndarray: (A,) float64 F1 of every label over its known entries, equal to
        ``sklearn.metrics.f1_score(t[known], p[known], zero_division=0)`` per column.
    """
    p = to_numpy(pred, np.float64)
    t = to_numpy(target, np.float64)
    if p.ndim != 2 or p.shape != t.shape:
        raise ValueError(f'pred and target must both be (N, A), got {p.shape} and {t.shape}')
    known = t >= 0
    if mask is not None:
        m = to_numpy(mask).astype(bool)
        if m.shape != t.shape:
            raise ValueError(f'mask must be {t.shape}, got {m.shape}')
        known &= m
    pos_pred = (p >= threshold) & known
    pos_gt = (t > 0.5) & known
    tp = (pos_pred & pos_gt).sum(axis=0).astype(np.float64)
    denom = pos_pred.sum(axis=0) + pos_gt.sum(axis=0)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def _pairwise_dist(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    if metric == 'l2':
        return np.linalg.norm(a - b, axis=-1)
    if metric == 'cosine':
        na = np.linalg.norm(a, axis=-1)
        nb = np.linalg.norm(b, axis=-1)
        return 1.0 - (a * b).sum(-1) / np.maximum(na * nb, 1e-12)
    raise ValueError(f"metric must be 'l2' or 'cosine', got {metric!r}")


def triplet_predict_odd(emb1: ArrayLike, emb2: ArrayLike, emb3: ArrayLike,
                        metric: str = 'l2') -> np.ndarray:
    """Predict the odd one out of image triplets from embeddings.

    The two images at the smallest distance form the most similar pair; the remaining
    image is predicted to be the odd one out (FEC protocol, Vemulapalli & Agarwala 2019).

    Args:
        emb1, emb2, emb3: (N, D) embeddings of the triplets' first/second/third images.
        metric (str): ``'l2'`` (Euclidean) or ``'cosine'`` (1 - cosine similarity).

    Returns:
        np.ndarray: (N,) int64 in {0, 1, 2}, index of the predicted odd image.
    """
    e1, e2, e3 = (to_numpy(e, np.float64) for e in (emb1, emb2, emb3))
    d12 = _pairwise_dist(e1, e2, metric)
    d13 = _pairwise_dist(e1, e3, metric)
    d23 = _pairwise_dist(e2, e3, metric)
    # pair (1,2) closest -> 3 is odd (index 2); (1,3) -> 2 (index 1); (2,3) -> 1 (index 0)
    return np.stack([d23, d13, d12], axis=1).argmin(axis=1).astype(np.int64)


def triplet_accuracy(emb1: ArrayLike, emb2: ArrayLike, emb3: ArrayLike, odd: ArrayLike,
                     metric: str = 'l2') -> float:
    """Fraction of triplets whose annotated odd one out (0-based, (N,)) is predicted."""
    pred = triplet_predict_odd(emb1, emb2, emb3, metric)
    gt = to_numpy(odd).astype(np.int64).reshape(-1)
    if gt.shape != pred.shape:
        raise ValueError(f'{pred.shape[0]} triplets but {gt.shape[0]} labels')
    if gt.size and (gt.min() < 0 or gt.max() > 2):
        raise ValueError('odd-one-out labels must be 0, 1 or 2')
    return float((pred == gt).mean())


def knn_accuracy(bank_feats: ArrayLike,
                 bank_labels: ArrayLike,
                 query_feats: ArrayLike,
                 query_labels: ArrayLike,
                 topk: Sequence[int] = (10, 30),
                 temperature: float = 0.07,
                 weighting: str = 'exp',
                 num_classes: Optional[int] = None) -> Dict[int, Dict[str, float]]:
    """Weighted k-NN classification of a query set against a labelled bank, per k.

    Cosine similarity, votes ``exp(sim / T)`` (or uniform); :func:`mmfer.evaluation.knn_predict`.
    A ``k`` larger than the bank is clamped to the bank size: the result is keyed by the
    ``k`` actually used (``k_requested`` keeps the asked value); several requests that clamp
    to the same ``k`` give one entry.

    Args:
        bank_feats: (N, D) bank features. bank_labels: (N,) labels in [0, C).
        query_feats: (M, D) query features. query_labels: (M,) labels.
        topk (Sequence[int]): The k values (each >= 1). Defaults to (10, 30).
        temperature (float): T > 0. weighting (str): ``'exp'`` or ``'uniform'``.
        num_classes (int, optional): C; defaults to max label + 1.

    Returns:
        dict: ``{k_used: dict(k, k_requested, accuracy, macro_f1, mean_class_accuracy)}``,
        scores as fractions.
    """
    from .knn import knn_predict
    bank_y = torch.as_tensor(to_numpy(bank_labels).astype(np.int64).reshape(-1))
    query_y = to_numpy(query_labels).astype(np.int64).reshape(-1)
    if bank_y.numel() == 0:
        raise ValueError('knn_accuracy: the bank is empty')
    if num_classes is None:
        num_classes = int(max(bank_y.max(), query_y.max(initial=0))) + 1
    out: Dict[int, Dict[str, float]] = {}
    for k in topk:
        if int(k) != k or k < 1:
            raise ValueError(f'knn_accuracy: k must be a positive integer, got {k!r}')
        k_used = min(int(k), int(bank_y.numel()))
        if k_used in out:
            continue
        pred = to_numpy(knn_predict(bank_feats, bank_y, query_feats, k_used,
                                    temperature=temperature, weighting=weighting,
                                    num_classes=num_classes))
        out[k_used] = dict(k=k_used, k_requested=int(k),
                           accuracy=accuracy(pred, query_y),
                           macro_f1=macro_f1(pred, query_y, num_classes),
                           mean_class_accuracy=mean_class_accuracy(pred, query_y,
                                                                   num_classes))
    return out


def identity_nn_accuracy(feats: ArrayLike, identities: Sequence,
                         chunk_size: Optional[int] = None) -> Dict[str, float]:
    """Leave-one-out 1-NN identity accuracy: is a sample's nearest *other* sample the same person?

    Cosine similarity; a sample's own entry is excluded. Samples whose identity occurs once
    cannot have a same-identity neighbour and are left out of the mean (but still serve as
    neighbours of the others). High values mean the features encode who is in the picture.

    Args:
        feats: (N, D) features.
        identities: (N,) identity of each sample (ints or strings).
        chunk_size (int, optional): Queries per similarity block; defaults to about 2^24
            similarities (64 MB) per block.

    Returns:
        dict: ``accuracy`` (fraction) and ``num_queries`` (samples with a same-identity
        partner).
    """
    x = torch.as_tensor(to_numpy(feats, np.float64))
    ids = np.asarray(list(identities) if not isinstance(identities, (np.ndarray, torch.Tensor))
                     else to_numpy(identities))
    if x.ndim != 2 or x.shape[0] != len(ids):
        raise ValueError(f'identity_nn_accuracy: {tuple(x.shape)} features but {len(ids)} '
                         'identities')
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    inverse = torch.as_tensor(inverse.reshape(-1))
    has_partner = torch.as_tensor(counts[inverse.numpy()] > 1)
    if not has_partner.any():
        raise ValueError('identity_nn_accuracy: no identity occurs twice; nothing to match')
    x = torch.nn.functional.normalize(x, dim=1).float()
    chunk_size = chunk_size or max(1, min(4096, (1 << 24) // x.shape[0]))
    nearest = torch.empty(x.shape[0], dtype=torch.long)
    for start in range(0, x.shape[0], chunk_size):
        sim = x[start:start + chunk_size] @ x.T
        rows = torch.arange(sim.shape[0])
        sim[rows, rows + start] = -float('inf')
        nearest[start:start + sim.shape[0]] = sim.argmax(dim=1)
    hit = (inverse[nearest] == inverse)[has_partner]
    return dict(accuracy=float(hit.double().mean()), num_queries=int(has_partner.sum()))


def effective_rank(feats: ArrayLike, variance: float = 0.9) -> Dict[str, float]:
    """Dimensionality of a feature set: RankMe effective rank and PCs for ``variance``.

    - ``effective_rank``: ``exp(-sum_k p_k log p_k)`` with ``p_k = s_k / sum(s)`` the
      normalised singular values of the (uncentred) (N, D) feature matrix (Roy & Vetterli
      2007; RankMe, Garrido et al. 2023). Between 1 (collapse to one direction) and
      ``min(N, D)``.
    - ``num_components``: the smallest number of principal components (of the centred
      features) that explain at least ``variance`` of the total variance.

    Args:
        feats: (N, D) features.
        variance (float): Share of the variance, in (0, 1]. Defaults to 0.9.

    Returns:
        dict: ``effective_rank`` (float), ``num_components`` (int), ``dim`` (D).
    """
    if not 0 < variance <= 1:
        raise ValueError(f'effective_rank: variance must be in (0, 1], got {variance}')
    x = torch.as_tensor(to_numpy(feats, np.float64))
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f'effective_rank: need (N >= 2, D) features, got {tuple(x.shape)}')
    s = torch.linalg.svdvals(x)
    p = s / s.sum().clamp_min(1e-300)
    p = p[p > 0]
    erank = float(torch.exp(-(p * p.log()).sum()))
    sc = torch.linalg.svdvals(x - x.mean(0, keepdim=True)) ** 2
    total = sc.sum()
    if total <= 0:
        num = 0
    else:
        cum = torch.cumsum(sc, 0) / total
        num = int(torch.searchsorted(cum, torch.tensor(variance, dtype=cum.dtype) - 1e-12)) + 1
    return dict(effective_rank=erank, num_components=min(num, int(sc.numel())),
                dim=int(x.shape[1]))


def verification_accuracy(sims: ArrayLike, same: ArrayLike, folds: int = 10) -> float:
    """Face-verification accuracy (LFW protocol): mean over folds, each at the best
    threshold of the other folds.

    Args:
        sims: (P,) similarity of each pair (higher = more alike).
        same: (P,) bool, True for pairs of the same person.
        folds (int): Number of consecutive folds. Defaults to 10.

    Returns:
        float: accuracy in [0, 1].
    """
    sims = to_numpy(sims, np.float64).reshape(-1)
    same = to_numpy(same).astype(bool).reshape(-1)
    if sims.shape != same.shape or sims.size == 0:
        raise ValueError(f'verification_accuracy: {sims.size} similarities but {same.size} '
                         'labels')
    fold_of = np.arange(len(sims)) * folds // len(sims)
    accs = []
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        if not test.any():
            continue
        cands = np.unique(sims[train]) if train.any() else np.array([0.])
        best = max(cands, key=lambda t: ((sims[train] >= t) == same[train]).mean())
        accs.append(((sims[test] >= best) == same[test]).mean())
    return float(np.mean(accs))
