# Copyright (c) mmfer contributors. All rights reserved.
"""Pure metric functions used by mmfer's metrics, ``tools/test.py`` and the tests.

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
"""
from typing import Optional, Sequence, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence]

__all__ = [
    'to_numpy', 'confusion_matrix', 'accuracy', 'per_class_accuracy',
    'mean_class_accuracy', 'per_class_f1', 'macro_f1', 'ccc', 'rmse',
    'multilabel_f1', 'triplet_predict_odd', 'triplet_accuracy'
]


def to_numpy(x: ArrayLike, dtype=None) -> np.ndarray:
    """Convert a tensor / array / sequence to a numpy array (on CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    return arr.astype(dtype) if dtype is not None else arr


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
