# Copyright (c) mmfer contributors. All rights reserved.
"""Synthetic faces in face-recognition layouts: MS1M RecordIO (pre-training) and LFW (probe).

=============  ===========================================================================
writer         layout under ``out_root``
=============  ===========================================================================
write_ms1m     InsightFace ``train.rec`` + ``train.idx`` (record 0: header, then one image
               record per face sorted by identity, then one record per identity with its
               ``[first, end)`` image keys), ``property`` (``classes,H,W``),
               ``landmarks.npz`` keyed ``train.rec#<key>``, ``meta.csv``
write_lfw      ``<Person>/<Person>_0001.jpg`` ..., ``pairs.txt`` (``folds n`` header, then per
               fold ``n`` same-person lines ``name i j`` and ``n`` different-person lines
               ``name1 i name2 j``; people of one fold appear in no other), ``meta.csv``
=============  ===========================================================================
"""
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np

from ..landmark_io import save_landmarks
from ..recordio import IRHeader, RecordIOWriter, pack, pack_img
from ._io import imwrite, meta_row, progress_bar, tick, write_meta
from .generator import SyntheticFaceGenerator


def write_ms1m(out_root: str, num: int = 200, image_size: int = 112, seed: int = 0,
               num_identities: int = 20, progress: bool = False) -> Dict:
    """MS1M-ArcFace (InsightFace ``faces_emore``) RecordIO layout, readable by ``MS1MRecordIO``.

    Every person gets ``num // num_identities`` faces (the first ``num % num_identities``
    people one more), each with a random expression; image record ``k`` (1-based) carries
    the class index (= generator identity) as its label, as in the real files.

    Returns:
        dict: ``root``, ``num_images``, ``num_identities``, ``rec``, ``idx``, ``landmarks``,
        ``meta``.
    """
    if not 1 <= num_identities <= num:
        raise ValueError(f'num_identities must be in [1, num={num}], got {num_identities}')
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    os.makedirs(out_root, exist_ok=True)
    rng = np.random.default_rng([seed, 1000003])
    counts = [num // num_identities + (k < num % num_identities) for k in range(num_identities)]
    rec, idx = osp.join(out_root, 'train.rec'), osp.join(out_root, 'train.idx')
    keys, kpts, meta, spans = [], [], [], []
    bar = progress_bar(num, progress)
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(0, pack(IRHeader(2, [num + 1, num + 1 + num_identities], 0, 0), b''))
        key = 1
        for ident, n in enumerate(counts):
            spans.append((key, key + n))
            for _ in range(n):
                face = gen.render(ident, int(rng.integers(8)), float(rng.uniform(0.6, 1.0)),
                                  seed=int(rng.integers(2**31 - 1)))
                w.write_idx(key, pack_img(IRHeader(0, float(ident), key, 0), face['img']))
                path = f'train.rec#{key}'
                keys.append(path)
                kpts.append(face['keypoints'])
                meta.append(meta_row(path, face))
                key += 1
                tick(bar)
        for ident, (first, end) in enumerate(spans):
            w.write_idx(num + 1 + ident, pack(IRHeader(2, [first, end], 0, 0), b''))
    with open(osp.join(out_root, 'property'), 'w') as f:
        f.write(f'{num_identities},{image_size},{image_size}\n')
    lm = osp.join(out_root, 'landmarks.npz')
    save_landmarks(lm, keys, np.stack(kpts))
    write_meta(osp.join(out_root, 'meta.csv'), meta)
    return dict(root=out_root, num_images=num, num_identities=num_identities, rec=rec, idx=idx,
                landmarks=lm, meta=osp.join(out_root, 'meta.csv'))


def lfw_name(identity: int) -> str:
    """The synthetic LFW folder name of generator identity ``identity``."""
    return f'Synthetic_Person{identity:05d}'


def _lfw_pairs(counts: List[int], num_folds: int, max_pairs: int,
               rng: np.random.Generator) -> List[Tuple[List[tuple], List[tuple]]]:
    """Per fold of people, distinct same-person ``(p, i, j)`` and different-person
    ``(p, i, q, j)`` pairs (1-based image numbers), as many of each: at most ``max_pairs``
    and at most the fold's numbers of distinct same- and different-person pairs."""
    folds = [list(range(k, len(counts), num_folds)) for k in range(num_folds)]
    out = []
    for fold in folds:
        multi = [p for p in fold if counts[p] >= 2]
        c = np.array([counts[p] for p in fold], np.int64)
        n_same = int((c * (c - 1) // 2).sum())
        n_diff = int((c.sum() ** 2 - (c ** 2).sum()) // 2)
        n = min(max_pairs, n_same, n_diff)
        same, diff = set(), set()
        if n:
            w = np.array([counts[p] for p in multi], float)
            while len(same) < n:
                p = multi[int(rng.choice(len(multi), p=w / w.sum()))]
                i, j = sorted(int(v) + 1 for v in rng.choice(counts[p], 2, replace=False))
                same.add((p, i, j))
            while len(diff) < n:
                p, q = sorted(int(v) for v in rng.choice(fold, 2, replace=False))
                diff.add((p, int(rng.integers(counts[p])) + 1, q,
                          int(rng.integers(counts[q])) + 1))
        out.append((sorted(same), sorted(diff)))
    return out


def write_lfw(out_root: str, num: int = 200, image_size: int = 250, seed: int = 0,
              num_identities: int = 50, num_folds: int = 2, max_pairs: int = 300,
              progress: bool = False) -> Dict:
    """LFW layout (``<Person>/<Person>_0001.jpg`` + ``pairs.txt``) for ``fr_knn_lfw.py``.

    Like LFW, people have unequal numbers of faces: ``num`` faces are spread over
    ``num_identities`` people with a skewed draw (every person at least one face, some
    many), each with a random expression and pose. ``pairs.txt`` has ``num_folds`` folds of
    people (disjoint across folds), each with the same number ``n`` of distinct same-person
    and of different-person pairs (at most ``max_pairs``; fewer when a fold has fewer
    same-person pairs); the header is ``<folds> <n>``, as LFW's ``10 300``. Images are 250 px like
    LFW's by default (``fr_knn_lfw.py`` scales its crop box with the image size).

    Returns:
        dict: ``root``, ``num_images``, ``num_identities``, ``pairs`` (path),
        ``pairs_per_fold`` (of each kind), ``meta``.
    """
    if not 2 <= num_identities <= num:
        raise ValueError(f'num_identities must be in [2, num={num}], got {num_identities}')
    if num_folds < 1:
        raise ValueError(f'num_folds must be >= 1, got {num_folds}')
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    rng = np.random.default_rng([seed, 2007])
    # skewed counts: one face each, the rest by a Zipf-like preference
    weights = 1.0 / np.arange(1, num_identities + 1) ** 1.1
    counts = 1 + rng.multinomial(num - num_identities, weights / weights.sum())
    counts = counts[rng.permutation(num_identities)].tolist()
    meta = []
    bar = progress_bar(num, progress)
    for ident, n in enumerate(counts):
        name = lfw_name(ident)
        for i in range(1, n + 1):
            face = gen.render(ident, int(rng.integers(8)), float(rng.uniform(0.3, 1.0)),
                              seed=int(rng.integers(2**31 - 1)))
            rel = f'{name}/{name}_{i:04d}.jpg'
            imwrite(osp.join(out_root, rel), face['img'])
            meta.append(meta_row(rel, face))
            tick(bar)
    folds = _lfw_pairs(counts, num_folds, max_pairs, rng)
    n = min(len(same) for same, _ in folds)
    if n == 0:
        raise ValueError(f'write_lfw: a fold has no person with two faces ({num} faces, '
                         f'{num_identities} people, {num_folds} folds); use more faces per '
                         'person or fewer folds')
    pairs = osp.join(out_root, 'pairs.txt')
    with open(pairs, 'w') as f:
        f.write(f'{num_folds}\t{n}\n')
        for same, diff in folds:
            f.writelines(f'{lfw_name(p)}\t{i}\t{j}\n' for p, i, j in same[:n])
            f.writelines(f'{lfw_name(p)}\t{i}\t{lfw_name(q)}\t{j}\n' for p, i, q, j in diff[:n])
    write_meta(osp.join(out_root, 'meta.csv'), meta)
    return dict(root=out_root, num_images=num, num_identities=num_identities, pairs=pairs,
                pairs_per_fold=n, meta=osp.join(out_root, 'meta.csv'))
