# Copyright (c) mmfer contributors. All rights reserved.
"""Weighted k-NN classification on frozen features (InstDisc / mmselfsup protocol).

:func:`knn_predict` is exact: it returns what a float64 brute-force cosine k-NN returns
(scikit-learn's ``KNeighborsClassifier(algorithm='brute', metric='cosine')`` with float64
inputs and weights ``exp((1 - d) / T)`` or ``'uniform'``), while doing the heavy
``queries x train`` products in float32 (or bfloat16) and in chunks of queries:

1. per chunk of ``B`` queries, approximate similarities ``B x N`` in ``approx_dtype``
   (never the full ``N_test x N_train`` matrix);
2. the ``k + extra`` best candidates per query are re-scored exactly in float64;
3. a rigorous bound ``e`` on the approximation error certifies the candidates: every true
   top-k neighbour has approximate similarity >= (k-th approximate) - 2e. Rows where the
   candidate list does not reach that threshold are recomputed exactly (float64, whole row);
4. ties between equal similarities at the k-th place go to the lower training index;
   ties between classes in the vote go to the smaller class index (scikit-learn and
   ``torch.argmax`` both pick the first maximum).
"""
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ['knn_predict']


def _as_tensor(x, dtype=None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x.to(dtype) if dtype is not None else x


def _error_bound(approx_dtype: torch.dtype, dim: int) -> float:
    """Upper bound of |approx - exact| cosine similarity for unit vectors of ``dim`` dims.

    Inputs are unit vectors, so sum_i |a_i b_i| <= 1 (Cauchy-Schwarz). fp32: the rounding
    of the normalised inputs (2u each) and of a length-``dim`` fp32 accumulation (dim * u),
    u = 2^-24. bf16: inputs rounded to bf16 (2 * 2^-8), fp32 accumulation, and the output
    rounded to bf16 (2^-8 relative to |s| <= 1). A factor 2 of slack covers the rest.
    """
    u32 = 2.0**-24
    if approx_dtype == torch.float64:
        return 2.0 * (dim + 4) * 2.0**-53
    if approx_dtype == torch.float32:
        return 2.0 * (dim + 4) * u32
    if approx_dtype in (torch.bfloat16, torch.float16):
        u = 2.0**-8 if approx_dtype == torch.bfloat16 else 2.0**-11
        return 2.0 * (3 * u + (dim + 4) * u32)
    raise ValueError(f'unsupported approx_dtype {approx_dtype}')


@torch.no_grad()
def knn_predict(train_feats,
                train_labels,
                test_feats,
                k: int,
                temperature: float = 0.07,
                weighting: str = 'exp',
                num_classes: Optional[int] = None,
                chunk_size: Optional[int] = None,
                approx_dtype: Optional[torch.dtype] = None,
                extra_candidates: Optional[int] = None,
                device: Optional[torch.device] = None) -> torch.LongTensor:
    """Cosine k-NN classification with exp(sim / T) (or uniform) weighted voting.

    Args:
        train_feats: (N, D) training features (tensor or array); L2-normalised inside.
        train_labels: (N,) int labels in [0, num_classes).
        test_feats: (M, D) query features; L2-normalised inside.
        k (int): Number of neighbours, 1 <= k <= N.
        temperature (float): T of ``exp(sim / T)``. Defaults to 0.07.
        weighting (str): ``'exp'`` or ``'uniform'`` (one vote per neighbour).
        num_classes (int, optional): Defaults to ``max(train_labels) + 1``.
        chunk_size (int, optional): Queries per chunk. Defaults to keeping one chunk's
            similarity block at about 2^24 elements (64 MB in float32).
        approx_dtype (torch.dtype, optional): dtype of the candidate search,
            ``torch.float32`` (default), ``torch.bfloat16`` or ``torch.float64``. Results are
            exact for every choice; bfloat16's large error bound (~0.02) means many more
            candidates to re-score, so it only pays off when neighbours are well separated
            (measured slower than float32 on random 512-d features).
        extra_candidates (int, optional): Candidates beyond k re-scored per query.
            Defaults to ``max(4, k // 4)`` for float32, ``max(32, k)`` for 16-bit. Rows whose
            candidates cannot be certified are retried with 4x more (always exact).
        device (torch.device, optional): Where to compute; defaults to the device of
            ``train_feats`` if it is a tensor, else CPU. Results are returned on CPU.

    Returns:
        torch.LongTensor: (M,) predicted labels.
    """
    if weighting not in ('exp', 'uniform'):
        raise ValueError(f"weighting must be 'exp' or 'uniform', got {weighting!r}")
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    train = _as_tensor(train_feats)
    test = _as_tensor(test_feats)
    labels = _as_tensor(train_labels).long().reshape(-1).cpu()
    if device is None:
        device = train.device
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
        raise ValueError(f'features must be (N, D) and (M, D) with the same D, got '
                         f'{tuple(train.shape)} and {tuple(test.shape)}')
    n, dim = train.shape
    if labels.numel() != n:
        raise ValueError(f'{n} training features but {labels.numel()} labels')
    if not 1 <= k <= n:
        raise ValueError(f'k must be in [1, {n}], got {k}')
    if labels.numel() and labels.min() < 0:
        raise ValueError('training labels must be >= 0')
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    elif int(labels.max()) >= num_classes:
        raise ValueError(f'label {int(labels.max())} >= num_classes={num_classes}')
    approx_dtype = approx_dtype or torch.float32
    if extra_candidates is None:
        extra_candidates = max(4, k // 4) if approx_dtype in (
            torch.float32, torch.float64) else max(32, k)
    m = min(n, k + extra_candidates)
    err = _error_bound(approx_dtype, dim)

    # exact (float64) and approximate unit vectors
    train64 = F.normalize(train.to(device, torch.float64), dim=1)
    test64 = F.normalize(test.to(device, torch.float64), dim=1)
    train_a = train64.to(approx_dtype)
    labels_dev = labels.to(device)
    if chunk_size is None:
        chunk_size = max(1, min(4096, (1 << 24) // max(n, 1)))

    preds = torch.empty(test.shape[0], dtype=torch.long)
    for start in range(0, test.shape[0], chunk_size):
        q64 = test64[start:start + chunk_size]
        approx = q64.to(approx_dtype) @ train_a.T  # (B, N)
        vals, idx = _certified_topk(approx, q64, train64, k, m, err)
        del approx
        if weighting == 'exp':
            weights = torch.exp(vals / temperature)
        else:
            weights = torch.ones_like(vals)
        votes = torch.zeros(q64.shape[0], num_classes, dtype=torch.float64, device=device)
        votes.scatter_add_(1, labels_dev[idx], weights)
        preds[start:start + q64.shape[0]] = votes.argmax(dim=1).cpu()
    return preds


def _certified_topk(approx: torch.Tensor, q64: torch.Tensor, train64: torch.Tensor, k: int,
                    m: int, err: float):
    """Exact float64 top-k of ``q64 @ train64.T`` from approximate similarities ``approx``.

    Candidates are the ``m`` best approximate similarities; a row is certified when its
    m-th candidate is below (k-th approximate) - 2 * err. Uncertified rows are retried with
    4x more candidates, and finally with all N columns.
    """
    n = approx.shape[1]
    out_vals = torch.empty(q64.shape[0], k, dtype=torch.float64, device=q64.device)
    out_idx = torch.empty(q64.shape[0], k, dtype=torch.long, device=q64.device)
    rows = torch.arange(q64.shape[0], device=q64.device)
    while rows.numel():
        sub = approx if rows.numel() == approx.shape[0] else approx[rows]
        cand_vals, cand_idx = sub.topk(m, dim=1, largest=True, sorted=True)
        cand_vals = cand_vals.to(torch.float64)
        if m < n:
            certified = cand_vals[:, m - 1] < cand_vals[:, k - 1] - 2 * err
        else:
            certified = torch.ones(rows.numel(), dtype=torch.bool, device=q64.device)
        done = rows[certified]
        if done.numel():
            # exact re-scoring of the candidates in float64
            ci = cand_idx[certified]
            exact = torch.einsum('bd,bmd->bm', q64[done], train64[ci])
            out_vals[done], out_idx[done] = _topk_low_index_ties(exact, ci, k)
        rows = rows[~certified]
        m = min(n, 4 * m)
    return out_vals, out_idx


def _topk_low_index_ties(vals: torch.Tensor, idx: torch.Tensor, k: int):
    """Top-k of ``vals`` per row; equal values ordered by ascending ``idx``."""
    order = idx.argsort(dim=1)
    vals = vals.gather(1, order)
    idx = idx.gather(1, order)
    order = vals.argsort(dim=1, descending=True, stable=True)[:, :k]
    return vals.gather(1, order), idx.gather(1, order)

