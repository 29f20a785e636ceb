# Copyright (c) mmfer contributors. All rights reserved.
"""Weighted k-NN classification on frozen features (InstDisc / mmselfsup protocol).

:func:`knn_predict` is exact: it returns what a float64 brute-force cosine k-NN returns
(scikit-learn's ``KNeighborsClassifier(algorithm='brute', metric='cosine')`` with float64
inputs and weights ``exp((1 - d) / T)`` or ``'uniform'``), at about the speed of the float32
matrix product ``queries x train`` alone (``benchmarks/bench_knn.py``).

Algorithm. Rows are L2-normalised with float64 norms and rounded to ``approx_dtype`` (float32
by default), the training set one *segment* of rows at a time (so there is never a normalised
or float64 copy of the whole bank). For every segment and every chunk of ``B`` queries:

1. the approximate similarities ``s~`` (``B x segment``) are computed tile by tile (2048
   columns; on CPU with MKL the bank tiles are packed once per segment, see
   :func:`_mkl_pack`), and right after each tile's product, while it is in cache, the
   maximum of every *group* of 16 of its columns is taken;
2. the best ``m + 1`` level-2 groups (16 groups each) by their maxima, then the best ``m + 1``
   groups within them, then the best ``m = k + extra_candidates`` columns of the ``m`` best
   groups are selected (top-k over ``segment / 256 + 32 m`` values instead of ``segment``),
   and merged with the query's best ``m`` of the previous segments;
3. each query then votes with its top ``k`` (weights ``exp(s / T)`` or 1, summed per class in
   float64): from ``s~`` where that is provably the float64 vote (:func:`_approx_vote`),
   else after re-scoring its ``m`` candidates in float64 exactly as the reference does
   (``F.normalize`` in float64, then the dot product).

Exactness. ``s`` is the float64 similarity, and ``e`` bounds ``|s~ - s|``
(:func:`_error_bound`: it holds for any summation order, so for any tiling or BLAS kernel;
float32 products run in float32 even under ``torch.set_float32_matmul_precision('medium')``).
Let ``tau`` be the k-th largest ``s~`` of a query's ``m`` candidates. Every other column has
``s~ <= L``: its group (or level-2 group) was not among the ``m`` best, so ``s~ <=`` the
``(m+1)``-th group maximum, or it was dropped by a top-``m`` selection, so ``s~ <=`` the final
``m``-th candidate (the running ``m``-th value only grows). The candidates are *certified* when
``L < tau - 2e``: then every other column ``j`` has ``s_j <= s~_j + e < tau - e <= s_(k)``, the
true k-th similarity (``k`` candidates have ``s~ >= tau``, hence ``s >= tau - e``). So no
other column is in the true top-k or tied with its k-th member, and the exact top-k of the
candidates is the exact top-k of all columns. Queries whose candidates are not certified (many
near-duplicates within ``2e``) are searched again with 4x more candidates, up to all columns.
The vote from ``s~`` is used only when the top-k *set* is provably the exact one (the k-th
``s~`` exceeds every other ``s~`` by more than ``2e``) and, with ``exp`` weights, the winner's
total provably exceeds every other class total after each weight is moved by its worst-case
factor ``exp(+-e / T)``; uniform votes are then exact counts.

Ties. Equal float64 similarities at the k-th place go to the lower training index; class
ties in the vote go to the smaller class index (scikit-learn and ``torch.argmax`` both pick
the first maximum). Results do not depend on ``chunk_size``, ``bank_chunk_size`` or threads.

Memory. Beyond the inputs: the normalised bank segment (128 MB by default) and as much for its
MKL-packed copy, the similarity block ``B x segment`` (``B = 256``: 64 MB for a 62,500-row
segment of 512 dims), the normalised queries (``M x D`` of ``approx_dtype``), ``M x m x 12``
bytes of candidates, the training norms (``N x 8`` bytes) and at most 64 MB of float64
re-scoring: about 0.45 GB at 1M x 10k x 512 (float32, k = 20), and no more for larger banks.
"""
import contextlib
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ['knn_predict']

_GROUP = 16  # columns per group maximum (level 1)
_SUPER = 16  # level-1 groups per level-2 group
_TILE = 2048  # bank columns per matrix product; a multiple of _GROUP
_CHUNK = 256  # queries per product (a 2 MB chunk x tile block, about the L2 cache)
_BLOCK_BYTES = 128 << 20  # similarity block of one query chunk x one bank segment
_SEGMENT_BYTES = 128 << 20  # normalised bank segment in approx_dtype (+ as much MKL-packed)
_STATE_BYTES = 64 << 20  # candidates (values + indices) of the queries searched together
_FLOAT64_BYTES = 1 << 20  # float64 normalisation buffer: cache-sized
_RESCORE_BYTES = 1 << 20  # float64 candidate vectors re-scored at once: cache-sized


def _as_tensor(x, dtype=None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x.to(dtype) if dtype is not None else x


def _error_bound(approx_dtype: torch.dtype, dim: int) -> float:
    """Upper bound of |approx - exact| cosine similarity for unit vectors of ``dim`` dims.

    Inputs are unit vectors, so sum_i |a_i b_i| <= 1 (Cauchy-Schwarz). fp32: the rounding
    of the normalised inputs (at most 2u + u^2 each, see :func:`_normalized`) and of a
    length-``dim`` fp32 accumulation in any order (dim * u), u = 2^-24, in all
    (dim + 4) u + O(dim u^2).
    bf16: inputs rounded to bf16 (2 * 2^-8), fp32 accumulation, and the output rounded to
    bf16 (2^-8 relative to |s| <= 1). A factor 2 of slack covers the rest, including the
    float64 evaluation of the reference (dim * 2^-53).
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


@contextlib.contextmanager
def _full_precision_matmul():
    """float32 products in float32: ``torch.set_float32_matmul_precision('medium')`` would
    make them bf16 (CPU) or TF32 (CUDA) and void the error bound."""
    backends = [getattr(torch.backends, name).matmul for name in ('mkldnn', 'cuda')
                if hasattr(getattr(torch.backends, name, None), 'matmul')]
    backends = [b for b in backends if hasattr(b, 'fp32_precision')]
    if not backends:  # torch < 2.9: the legacy switches
        prev = torch.get_float32_matmul_precision(), torch.backends.cuda.matmul.allow_tf32
        torch.set_float32_matmul_precision('highest')
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(prev[0])
            torch.backends.cuda.matmul.allow_tf32 = prev[1]
        return
    prev = [b.fp32_precision for b in backends]
    for b in backends:
        b.fp32_precision = 'ieee'
    try:
        yield
    finally:
        for b, p in zip(backends, prev):
            b.fp32_precision = p


@contextlib.contextmanager
def _torch_threads(num: int):
    """``torch.set_num_threads(num)`` for the duration of the block."""
    prev = torch.get_num_threads()
    torch.set_num_threads(num)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def _normalized(x: torch.Tensor, dtype: torch.dtype, device, name: str, offset: int = 0,
                norms: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Rows of ``x`` times their inverse float64 L2 norm, rounded to ``dtype``.

    Float32 rows are multiplied in float32 by the rounded inverse norm (2 roundings); other
    rows in float64, then rounded (1 rounding). Done through one cache-sized float64 buffer,
    so no float64 copy of ``x`` exists. The norms (the same values as in
    ``F.normalize(x.double())``) go to ``norms`` (n,) when given.
    """
    n, dim = x.shape
    out = torch.empty((n, dim), dtype=dtype, device=device)
    if norms is None:
        norms = torch.empty(n, dtype=torch.float64, device=device)
    step = max(1, min(n, _FLOAT64_BYTES // (8 * max(1, dim))))
    buf = torch.empty((step, dim), dtype=torch.float64, device=device)
    in_float32 = x.dtype == dtype == torch.float32 and x.device == torch.device(device)
    for s in range(0, n, step):
        e = min(n, s + step)
        b64, nrm = buf[:e - s].copy_(x[s:e]), norms[s:e].unsqueeze(1)
        torch.linalg.vector_norm(b64, dim=1, keepdim=True, out=nrm)
        inv = nrm.clamp(min=1e-12).reciprocal_()  # F.normalize's eps
        if in_float32:
            torch.mul(x[s:e], inv.to(torch.float32), out=out[s:e])
        else:
            out[s:e] = b64.mul_(inv)
    if not bool(torch.isfinite(norms).all()):
        bad = int((~torch.isfinite(norms)).nonzero()[0, 0]) + offset
        raise ValueError(f'{name} has a non-finite value (NaN, Inf, or a norm that overflows '
                         f'float64) in row {bad}')
    return out


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
                device: Optional[torch.device] = None,
                bank_chunk_size: Optional[int] = None) -> torch.LongTensor:
    """Cosine k-NN classification with exp(sim / T) (or uniform) weighted voting.

    Exact (see the module docstring): the predictions of a float64 brute-force k-NN.
    On CPU with ``torch.get_num_threads() = T > 1``, ``T`` worker threads search disjoint
    query chunks with single-threaded ops (no thread barrier inside every small op);
    torch's thread count is 1 during the call and restored after it.

    Args:
        train_feats: (N, D) training features (tensor or array); L2-normalised inside.
        train_labels: (N,) int labels in [0, num_classes).
        test_feats: (M, D) query features; L2-normalised inside.
        k (int): Number of neighbours, 1 <= k <= N.
        temperature (float): T of ``exp(sim / T)``. Defaults to 0.07.
        weighting (str): ``'exp'`` or ``'uniform'`` (one vote per neighbour).
        num_classes (int, optional): Defaults to ``max(train_labels) + 1``.
        chunk_size (int, optional): Queries per similarity block. Defaults to 256, fewer
            where one worker's block (chunk x bank segment) would exceed 128 MB.
        approx_dtype (torch.dtype, optional): dtype of the candidate search,
            ``torch.float32`` (default), ``torch.bfloat16`` or ``torch.float64``. Results are
            exact for every choice; bfloat16's large error bound (~0.02) means many more
            candidates to re-score, so it only pays off when neighbours are well separated
            (measured slower than float32 on random 512-d features).
        extra_candidates (int, optional): Candidates beyond k re-scored per query.
            Defaults to ``max(4, k // 4)`` for float32, ``max(32, k)`` for 16-bit. Queries
            whose candidates cannot be certified are searched again with 4x more (always
            exact).
        device (torch.device, optional): Where to compute; defaults to the device of
            ``train_feats`` if it is a tensor, else CPU. Results are returned on CPU.
        bank_chunk_size (int, optional): Training rows normalised and searched at a time
            (the bank segment). Defaults to about 128 MB of ``approx_dtype``; memory does not
            grow with N beyond the inputs.

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
    for name, value in (('chunk_size', chunk_size), ('bank_chunk_size', bank_chunk_size)):
        if value is not None and value < 1:
            raise ValueError(f'{name} must be >= 1, got {value}')
    approx_dtype = approx_dtype or torch.float32
    err = _error_bound(approx_dtype, dim)
    if extra_candidates is None:
        extra_candidates = max(4, k // 4) if approx_dtype in (
            torch.float32, torch.float64) else max(32, k)
    m = min(n, k + extra_candidates)

    # on CPU, one worker per torch thread, each with single-threaded ops on its own chunks
    threads = torch.get_num_threads()
    workers = threads if torch.device(device).type == 'cpu' else 1
    itemsize = torch.empty((), dtype=approx_dtype).element_size()
    if bank_chunk_size is None:  # every worker's similarity block within _BLOCK_BYTES
        bank_chunk_size = max(_TILE, min(_SEGMENT_BYTES // (itemsize * max(1, dim)),
                                         _BLOCK_BYTES // (itemsize * workers *
                                                          (chunk_size or _CHUNK))))
    num_segments = -(-n // bank_chunk_size)
    segment = -(-n // num_segments)  # balanced segments
    if chunk_size is None:
        chunk_size = max(1, min(_CHUNK, _BLOCK_BYTES // (itemsize * workers * segment)))

    preds = torch.empty(test.shape[0], dtype=torch.long)
    labels_dev = labels.to(device)
    # queries searched together: their normalised copy and candidates fit _STATE_BYTES
    group = max(chunk_size, _STATE_BYTES // (itemsize * dim + 12 * m))
    with contextlib.ExitStack() as stack:
        stack.enter_context(_full_precision_matmul())
        pool = None
        if workers > 1:
            stack.enter_context(_torch_threads(1))
            pool = stack.enter_context(ThreadPoolExecutor(workers, 'knn_predict'))
        search = _Search(train, approx_dtype, device, segment, chunk_size, pool)
        for g0 in range(0, test.shape[0], group):
            rows = torch.arange(g0, min(g0 + group, test.shape[0]))
            queries = _normalized(test[g0:g0 + group], approx_dtype, device, 'test_feats', g0)
            local = torch.arange(rows.numel())
            width = m
            while local.numel():
                # the first search covers all queries; retries (rare) a bounded number
                step = local.numel() if width == m else max(1, _STATE_BYTES // (12 * width))
                left = []
                for s0 in range(0, local.numel(), step):
                    sub = local[s0:s0 + step]
                    vals, idx, limit = search(
                        queries if sub.numel() == rows.numel() else queries[sub.to(device)],
                        width)
                    if width >= n:
                        certified = torch.ones(sub.numel(), dtype=torch.bool, device=device)
                    else:
                        bound = torch.maximum(limit, vals[:, width - 1])
                        certified = bound.double() < vals[:, k - 1].double() - 2 * err
                    # the vote from the approximate similarities, where it is provably the
                    # float64 vote; float64 re-scoring of the candidates elsewhere
                    pred, sure = _approx_vote(vals, idx, limit, labels_dev, k, err, weighting,
                                              temperature, num_classes)
                    sure &= certified
                    sure_cpu, cert_cpu = sure.cpu(), certified.cpu()
                    preds[rows[sub[sure_cpu]]] = pred[sure].cpu()
                    rescore = cert_cpu & ~sure_cpu
                    if rescore.any():
                        preds[rows[sub[rescore]]] = _vote(
                            test, train, search.norms, labels_dev, rows[sub[rescore]],
                            idx[rescore.to(device)], k, weighting, temperature, num_classes,
                            device)
                    left.append(sub[~cert_cpu])
                local = torch.cat(left)
                width = min(n, 4 * width)
    return preds


class _Search:
    """Approximate top-``m`` candidates of normalised queries over the whole bank.

    Args:
        train (Tensor): (N, D) training features, any float dtype and device.
        dtype (torch.dtype): dtype of the approximate products.
        device: where to compute.
        segment (int): bank rows normalised and searched at a time.
        chunk (int): queries per similarity block.
        pool (ThreadPoolExecutor, optional): workers that search query chunks in parallel,
            each with its own buffers and single-threaded ops (no per-op thread barriers).
    """

    def __init__(self, train, dtype, device, segment, chunk, pool=None):
        self.train, self.dtype, self.device = train, dtype, device
        self.segment, self.chunk, self.pool = segment, chunk, pool
        self._cached = None  # the normalised bank when it is a single segment
        # float64 L2 norms of the training rows, for the exact re-scoring
        self.norms = torch.empty(train.shape[0], dtype=torch.float64, device=device)

    def _bank(self, s0: int) -> torch.Tensor:
        if self._cached is not None:
            return self._cached
        bank = _normalized(self.train[s0:s0 + self.segment], self.dtype, self.device,
                           'train_feats', s0, self.norms[s0:s0 + self.segment])
        if self.segment >= self.train.shape[0]:
            self._cached = bank
        return bank

    def __call__(self, queries: torch.Tensor, m: int):
        """Top-``m`` approximate similarities of each query (sorted, descending), their
        training indices, and an upper bound of the similarities of the columns never
        looked at (``-inf`` where there are none).

        Returns:
            tuple: values (R, m), indices (R, m) int64, bound (R,).
        """
        r, n = queries.shape[0], self.train.shape[0]
        state = torch.float64 if self.dtype == torch.float64 else torch.float32
        best_v = torch.full((r, m), -math.inf, dtype=state, device=self.device)
        best_i = torch.zeros((r, m), dtype=torch.long, device=self.device)
        limit = torch.full((r, ), -math.inf, dtype=state, device=self.device)
        chunk = min(self.chunk, r)
        for s0 in range(0, n, self.segment):
            bank = self._bank(s0)
            tiles = _Tiles(bank, chunk)
            todo, lock = iter(range(0, r, chunk)), threading.Lock()

            def work():
                blocks = _Blocks(tiles)
                while True:
                    with lock:
                        q0 = next(todo, None)
                    if q0 is None:
                        return
                    b = min(chunk, r - q0)
                    vals, cols, bound = blocks.topk(queries[q0:q0 + b], m)
                    rows = slice(q0, q0 + b)  # each chunk's rows belong to one worker
                    if s0 == 0:  # the state is empty: the block's candidates are the best
                        best_v[rows, :vals.shape[1]] = vals
                        best_i[rows, :vals.shape[1]] = cols
                    else:
                        both_v = torch.cat([best_v[rows], vals.to(state)], dim=1)
                        both_i = torch.cat([best_i[rows], cols + s0], dim=1)
                        top_v, pos = both_v.topk(m, dim=1)
                        best_v[rows] = top_v
                        best_i[rows] = both_i.gather(1, pos)
                    if bound is not None:
                        torch.maximum(limit[rows], bound.to(state), out=limit[rows])

            workers = 1 if self.pool is None else min(self.pool._max_workers, -(-r // chunk))
            if workers == 1:
                work()
            else:
                for future in [self.pool.submit(work) for _ in range(workers)]:
                    future.result()
            del bank, tiles  # free before the next segment's
        return best_v, best_i, limit


class _Tiles:
    """One bank segment cut into tiles of ``_TILE`` rows (plain, transposed and, where
    available, MKL-packed for products with ``chunk`` queries), shared by the workers."""

    def __init__(self, bank: torch.Tensor, chunk: int):
        self.ns, self.chunk, self.dtype, self.device = (bank.shape[0], chunk, bank.dtype,
                                                        bank.device)
        self.tile = min(_TILE, -(-self.ns // _GROUP) * _GROUP)
        self.rows = [bank[t0:t0 + self.tile] for t0 in range(0, self.ns, self.tile)]
        self.transposed = [w.T for w in self.rows]
        self.packed = _mkl_pack(self.rows, chunk)


class _Blocks:
    """The reused buffers of one bank segment: similarities ``chunk x width`` (``width``:
    the segment rounded up to whole tiles; the padding holds ``-inf``) and group maxima.

    Every column gathered is a distinct column of the segment or of its padding, and at
    least ``min(m, ns)`` of them are real (finite): the ``m`` best groups hold ``m`` finite
    values, or else every group with a finite value was taken. So padding never reaches the
    returned top ``min(m, ns)``.

    Groups are ``_GROUP`` columns of one tile spaced ``tile / _GROUP`` apart, so a group
    maximum is an elementwise maximum of ``_GROUP`` contiguous rows of the tile (vectorised,
    in cache); level-2 groups are ``_SUPER`` level-1 groups spaced ``groups / _SUPER`` apart.
    """

    def __init__(self, tiles: _Tiles):
        self.tiles, ns, chunk = tiles, tiles.ns, tiles.chunk
        self.ns, self.chunk, self.tile = ns, chunk, tiles.tile
        self.width = -(-ns // self.tile) * self.tile
        self.groups = self.width // _GROUP
        # level 2 only with whole level-2 groups (always so with full tiles)
        self.supers = self.groups // _SUPER if self.groups % _SUPER == 0 else 0
        self.sims = torch.empty((chunk, self.width), dtype=tiles.dtype, device=tiles.device)
        self.sims[:, ns:] = -math.inf  # never written by the products
        self.gmax = torch.empty((chunk, self.groups), dtype=tiles.dtype, device=tiles.device)
        self.offsets = torch.arange(_GROUP, device=tiles.device) * (self.tile // _GROUP)
        self.super_offsets = torch.arange(_SUPER, device=tiles.device) * self.supers
        self.views = self._views(chunk)  # those of a full chunk, made once

    def _views(self, b: int) -> list:
        """(product output, its groups, their maxima) views of each tile for ``b`` rows."""
        sims, gmax, tile, per_tile = self.sims[:b], self.gmax[:b], self.tile, self.tile // _GROUP
        return [(sims[:, t0:min(self.ns, t0 + tile)],
                 sims[:, t0:t0 + tile].unflatten(1, (_GROUP, per_tile)),
                 gmax[:, t0 // _GROUP:t0 // _GROUP + per_tile])
                for t0 in range(0, self.ns, tile)]

    def topk(self, queries: torch.Tensor, m: int):
        """Top-``min(m, ns)`` columns of ``queries @ bank.T`` (values sorted descending,
        columns in the segment) and a bound of every column not looked at (None: none)."""
        b, ns, tile, per_tile = queries.shape[0], self.ns, self.tile, self.tile // _GROUP
        if self.tiles.packed is not None and b == self.chunk:
            for w, packed, (out, groups_view, maxima) in zip(self.tiles.rows, self.tiles.packed,
                                                             self.views):
                prod = torch.ops.mkl._mkl_linear(queries, packed, w, None, b)
                if prod.shape[1] == tile:  # group maxima while the tile is in cache
                    torch.amax(prod.unflatten(1, (_GROUP, per_tile)), dim=1, out=maxima)
                    out.copy_(prod)
                else:
                    out.copy_(prod)
                    torch.amax(groups_view, dim=1, out=maxima)
        else:
            views = self.views if b == self.chunk else self._views(b)
            for bank_tile, (out, groups_view, maxima) in zip(self.tiles.transposed, views):
                torch.mm(queries, bank_tile, out=out)
                torch.amax(groups_view, dim=1, out=maxima)  # while the tile is in cache
        sims, gmax = self.sims[:b], self.gmax[:b]
        bounds = []
        # level 2: the m best level-2 groups (each the max of _SUPER level-1 groups)
        if self.supers > m:
            smax = torch.amax(gmax.unflatten(1, (_SUPER, self.supers)), dim=1)
            svals, sidx = smax.topk(m + 1, dim=1)
            bounds.append(svals[:, m])
            groups = (sidx[:, :m, None] + self.super_offsets).flatten(1)
            gvals = gmax.gather(1, groups)
        else:
            groups, gvals = None, gmax
        # level 1: the m best level-1 groups among those
        if gvals.shape[1] > m:
            gtop, pos = gvals.topk(m + 1, dim=1)
            bounds.append(gtop[:, m])
            groups = pos[:, :m] if groups is None else groups.gather(1, pos[:, :m])
        elif groups is None:  # every group
            groups = torch.arange(self.groups, device=gvals.device).expand(b, -1)
        # their columns: group g is column (g % per_tile) + j * per_tile of tile g // per_tile
        cols = ((groups // per_tile) * tile + groups % per_tile).unsqueeze(2) + self.offsets
        cols = cols.flatten(1)
        vals, pos = sims.gather(1, cols).topk(min(m, ns), dim=1)
        bound = None
        if bounds:
            bound = bounds[0] if len(bounds) == 1 else torch.maximum(*bounds)
        return vals, cols.gather(1, pos), bound


def _mkl_pack(weights: list, batch: int) -> Optional[list]:
    """MKL's pre-packed GEMM operands (``cblas_sgemm_pack``) of the float32 bank tiles for
    products with ``batch`` queries, or None where unavailable (then ``torch.mm`` re-packs
    the bank tile at every product: up to ~25% slower with cache-sized blocks)."""
    if (batch < 2 or weights[0].device.type != 'cpu' or weights[0].dtype != torch.float32
            or not torch.backends.mkl.is_available()):
        return None
    try:
        return [torch.ops.mkl._mkl_reorder_linear_weight(w, batch) for w in weights]
    except (AttributeError, RuntimeError, NotImplementedError):  # a private op: may go
        return None


def _approx_vote(vals: torch.Tensor, idx: torch.Tensor, limit: torch.Tensor,
                 labels: torch.Tensor, k: int, err: float, weighting: str,
                 temperature: float, num_classes: int):
    """The vote of the approximate top ``k``, and where it provably equals the float64 one.

    ``vals`` (R, m >= k) are the sorted approximate similarities of the candidates ``idx``
    and ``limit`` (R,) bounds every non-candidate. The top-k *set* is the exact one when the
    k-th approximate similarity exceeds every other by more than ``2 err`` (then each of them
    is exactly below each top-k member, ties included). With uniform weights the votes are
    then exact counts. With ``exp(s / T)`` weights, each weight is within a factor
    ``exp(+-err / T)`` of the float64 one (plus float64 rounding, covered by the 1% and
    1e-12 slack), so a class total ``V`` is within ``V * slack``; the vote is sure when the
    winner's lower bound exceeds the runner-up's upper bound.

    Returns:
        tuple: predictions (R,) and a bool mask (R,) of the sure ones.
    """
    following = limit if vals.shape[1] == k else torch.maximum(limit, vals[:, k])
    sure = vals[:, k - 1].double() - following.double() > 2 * err
    top = vals[:, :k].double()
    weights = torch.exp(top / temperature) if weighting == 'exp' else torch.ones_like(top)
    votes = torch.zeros(vals.shape[0], num_classes, dtype=torch.float64, device=vals.device)
    votes.scatter_add_(1, labels[idx[:, :k]], weights)
    if weighting == 'exp' and num_classes > 1:
        slack = math.expm1(err / temperature) * 1.01 + 1e-12
        first, second = votes.topk(2, dim=1).values.unbind(1)
        sure &= torch.isfinite(first) & (first * (1 - slack) > second * (1 + slack))
    return votes.argmax(dim=1), sure


def _vote(test: torch.Tensor, train: torch.Tensor, norms: torch.Tensor,
          labels: torch.Tensor, rows: torch.Tensor, cand: torch.Tensor, k: int,
          weighting: str, temperature: float, num_classes: int, device) -> torch.Tensor:
    """Exact float64 re-scoring of the candidates ``cand`` (R, m) of queries ``rows`` and
    the weighted vote of their top ``k``; returns (R,) labels on CPU.

    ``norms`` (N,) are the float64 L2 norms of the training rows, so a candidate's unit
    vector ``x / max(|x|, eps)`` is exactly ``F.normalize(x.double())``.
    """
    r, m = cand.shape
    dim = train.shape[1]
    out = torch.empty(r, dtype=torch.long)
    step = max(1, min(r, _RESCORE_BYTES // (8 * m * dim)))  # cache-sized
    block = max(step, _STATE_BYTES // (8 * dim + 8 * m))  # queries voted at once
    cand_src = cand.to(train.device)
    buf = train.new_empty((step * m, dim))
    buf64 = torch.empty((step * m, dim), dtype=torch.float64, device=device)
    for b0 in range(0, r, block):
        b1 = min(r, b0 + block)
        q64 = F.normalize(test[rows[b0:b1].to(test.device)].to(device, torch.float64), dim=1)
        denom = norms[cand[b0:b1]].clamp_(min=1e-12).unsqueeze(2)
        exact = torch.empty((b1 - b0, m), dtype=torch.float64, device=device)
        for s in range(b0, b1, step):
            e = min(b1, s + step)
            t = torch.index_select(train, 0, cand_src[s:e].reshape(-1), out=buf[:(e - s) * m])
            t64 = buf64[:(e - s) * m].copy_(t).view(e - s, m, dim)
            t64.div_(denom[s - b0:e - b0])
            exact[s - b0:e - b0] = torch.einsum('bd,bmd->bm', q64[s - b0:e - b0], t64)
        vals, idx = _topk_low_index_ties(exact, cand[b0:b1], k)
        if weighting == 'exp':
            weights = torch.exp(vals / temperature)
        else:
            weights = torch.ones_like(vals)
        votes = torch.zeros(b1 - b0, num_classes, dtype=torch.float64, device=device)
        votes.scatter_add_(1, labels[idx], weights)
        out[b0:b1] = votes.argmax(dim=1).cpu()
    return out


def _topk_low_index_ties(vals: torch.Tensor, idx: torch.Tensor, k: int):
    """Top-k of ``vals`` per row; equal values ordered by ascending ``idx``."""
    order = idx.argsort(dim=1)
    vals = vals.gather(1, order)
    idx = idx.gather(1, order)
    order = vals.argsort(dim=1, descending=True, stable=True)[:, :k]
    return vals.gather(1, order), idx.gather(1, order)
