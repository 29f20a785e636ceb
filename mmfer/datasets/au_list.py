# Copyright (c) mmfer contributors. All rights reserved.
"""A generic facial action unit (AU) list dataset (DISFA / BP4D / GFT after conversion).

List file format (written by :func:`write_au_list`, which the converters
``tools/dataset_converters/{disfa,bp4d,gft}.py`` call through :func:`write_au_splits`)::

    # optional comment lines start with '#'
    path AU1 AU2 AU4 AU6
    SN001/00001.jpg 0 1 0 9
    SN001/00002.jpg 1 1 -1 0

- the first non-comment line is the header: the literal ``path`` then the AU names;
- one line per frame: the image path (relative to ``data_prefix``; it may contain spaces,
  the AU columns are split off from the right) and one value per AU: ``1`` present, ``0``
  absent, ``9`` or ``-1`` unknown (not annotated / occluded), which is masked out of the loss
  and of the F1.

Each item has ``img_path``, ``gt_score`` (float32 (A,): 1 / 0, and -1 where unknown, the
convention of :class:`mmfer.evaluation.AUF1Metric`) and ``au_mask`` (bool (A,), True = known).

The module also writes the lists: :func:`write_au_list`, subject-wise folds
(:func:`write_au_splits`) and official train/test splits (:func:`write_official_split`); the
dataset-specific label readers are in :mod:`mmfer.datasets.au_converters`.
"""
import json
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS

#: label tokens and their meaning
AU_POSITIVE = ('1', )
AU_NEGATIVE = ('0', )
AU_UNKNOWN = ('9', '-1')


def read_au_list(path: str, au_names: Optional[Sequence[str]] = None):
    """Parse an AU list file.

    Args:
        path (str): The list file.
        au_names (Sequence[str], optional): AUs to keep, in this order (must all be in the
            header); default all header AUs.

    Returns:
        tuple: ``(names, img_paths, labels)``: AU names (A,), image paths (N,), int8 array
        (N, A) with 1 / 0 / -1 (unknown).

    Raises:
        FileNotFoundError, ValueError: the message names the file and line at fault.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'AU list file {path} does not exist')
    header = None
    paths: List[str] = []
    rows: List[List[int]] = []
    seen = {}
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            if header is None:
                tokens = line.split()
                if tokens[0].lower() != 'path' or len(tokens) < 2:
                    raise ValueError(
                        f'{path}:{lineno}: the first line must be the header '
                        f'"path AU_a AU_b ...", got {line[:80]!r}')
                header = tokens[1:]
                dup = sorted({a for a in header if header.count(a) > 1})
                if dup:
                    raise ValueError(f'{path}:{lineno}: duplicated AU names {dup} in header')
                continue
            parts = line.rsplit(None, len(header))
            if len(parts) != len(header) + 1:
                raise ValueError(f'{path}:{lineno}: expected a path and {len(header)} AU '
                                 f'values ({" ".join(header)}), got {len(parts)} fields')
            img, values = parts[0], parts[1:]
            row = []
            for au, v in zip(header, values):
                if v in AU_POSITIVE:
                    row.append(1)
                elif v in AU_NEGATIVE:
                    row.append(0)
                elif v in AU_UNKNOWN:
                    row.append(-1)
                else:
                    raise ValueError(f'{path}:{lineno}: {au} has value {v!r}; allowed are 1, 0 '
                                     'and 9 or -1 (unknown)')
            if img in seen:
                raise ValueError(f'{path}:{lineno}: image {img} already listed on line '
                                 f'{seen[img]}')
            seen[img] = lineno
            paths.append(img)
            rows.append(row)
    if header is None:
        raise ValueError(f'{path}: empty AU list (no header line "path AU_a ...")')
    labels = np.asarray(rows, dtype=np.int8).reshape(len(rows), len(header))
    names = list(header)
    if au_names is not None:
        missing = [a for a in au_names if a not in header]
        if missing:
            raise ValueError(f'{path}: AUs {missing} requested but the header has only '
                             f'{header}')
        cols = [header.index(a) for a in au_names]
        labels = labels[:, cols]
        names = list(au_names)
    return names, paths, labels


def write_au_list(path: str, au_names: Sequence[str], img_paths: Sequence[str],
                  labels: np.ndarray) -> None:
    """Write an AU list file (header ``path AU...`` and ``img 1/0/9`` lines), atomically.

    Args:
        path (str): Output file.
        au_names (Sequence[str]): A AU names.
        img_paths (Sequence[str]): N image paths (relative to the image root).
        labels (np.ndarray): (N, A) with 1, 0 and negative / 9 for unknown (written as 9).
    """
    labels = np.asarray(labels).reshape(len(img_paths), len(au_names))
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.txt')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write('path ' + ' '.join(au_names) + '\n')
            for img, row in zip(img_paths, labels):
                vals = ['1' if v == 1 else '0' if v == 0 else '9' for v in row.tolist()]
                f.write(f'{img} {" ".join(vals)}\n')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def subject_folds(subjects: Sequence[str], num_folds: int = 3) -> List[List[str]]:
    """Split subjects into ``num_folds`` disjoint folds: sorted, then contiguous chunks whose
    sizes differ by at most one (deterministic, so every converter run gives the same folds).
    """
    subjects = sorted(set(subjects))
    if len(subjects) < num_folds:
        raise ValueError(f'need at least {num_folds} subjects for {num_folds} subject-wise '
                         f'folds, got {len(subjects)}: {subjects}')
    folds, start = [], 0
    for k in range(num_folds):
        size = len(subjects) // num_folds + (1 if k < len(subjects) % num_folds else 0)
        folds.append(subjects[start:start + size])
        start += size
    return folds


#: one record of the AU converters: (subject, image path, (A,) labels 1 / 0 / -1)
AURecord = Tuple[str, str, np.ndarray]


def _dump(out_dir: str, name: str, au_names: Sequence[str], recs: Sequence[AURecord],
          counts: dict) -> None:
    write_au_list(osp.join(out_dir, name), au_names, [r[1] for r in recs],
                  np.asarray([r[2] for r in recs]).reshape(len(recs), len(au_names)))
    counts[name] = len(recs)


def write_au_splits(out_dir: str, au_names: Sequence[str], records: Sequence[AURecord],
                    num_folds: int = 3, folds: Optional[List[List[str]]] = None) -> dict:
    """Write ``all.txt`` and subject-wise ``fold{k}_train.txt`` / ``fold{k}_test.txt``.

    Args:
        out_dir (str): Output folder.
        au_names (Sequence[str]): AU names.
        records (Sequence[tuple]): ``(subject, img_path, labels (A,))`` per frame.
        num_folds (int): Defaults to 3.
        folds (list[list[str]], optional): Subjects of each fold; default
            :func:`subject_folds`.

    Returns:
        dict: ``{'folds': [[subjects]...], 'counts': {file name: frames}}`` (also written to
        ``folds.json``).
    """
    subjects = [r[0] for r in records]
    if folds is None:
        folds = subject_folds(subjects, num_folds)
    listed = [s for f in folds for s in f]
    unknown = sorted(set(subjects) - set(listed))
    if unknown:
        raise ValueError(f'subjects {unknown} are in no fold of {folds}')
    counts = {}
    _dump(out_dir, 'all.txt', au_names, records, counts)
    for k, test_subjects in enumerate(folds, start=1):
        test_set = set(test_subjects)
        _dump(out_dir, f'fold{k}_test.txt', au_names,
              [r for r in records if r[0] in test_set], counts)
        _dump(out_dir, f'fold{k}_train.txt', au_names,
              [r for r in records if r[0] not in test_set], counts)
    with open(osp.join(out_dir, 'folds.json'), 'w') as f:
        json.dump({'folds': folds, 'counts': counts}, f, indent=1)
    return dict(folds=folds, counts=counts)


def read_split_file(path: str) -> Dict[str, str]:
    """Read an official train/test split: lines ``<name> train|test`` (``#`` comments).

    ``name`` is what the converter matches against (GFT: the label file's stem, i.e. the
    participant video, e.g. ``001A``).

    Returns:
        dict: ``{name: 'train' | 'test'}``.

    Raises:
        FileNotFoundError, ValueError: the message names the file and line at fault.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path} does not exist')
    split: Dict[str, str] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.split('#', 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ('train', 'test'):
                raise ValueError(f'{path}:{lineno}: expected "<name> train" or "<name> test", '
                                 f'got {raw.strip()!r}')
            if parts[0] in split:
                raise ValueError(f'{path}:{lineno}: {parts[0]} listed twice')
            split[parts[0]] = parts[1]
    if not split:
        raise ValueError(f'{path}: no "<name> train|test" lines')
    return split


def write_official_split(out_dir: str, au_names: Sequence[str],
                         records: Sequence[Tuple[str, AURecord]],
                         split: Dict[str, str]) -> dict:
    """Write ``official_train.txt`` / ``official_test.txt`` from a published split.

    Args:
        out_dir (str): Output folder.
        au_names (Sequence[str]): AU names.
        records (Sequence[tuple]): ``(name, record)`` per frame, ``name`` the key of ``split``.
        split (dict): ``{name: 'train' | 'test'}`` (:func:`read_split_file`).

    Returns:
        dict: ``{'counts': {file name: frames}, 'unlisted': [names in no split]}``; frames of
        unlisted names are written to neither file (the caller reports them).
    """
    counts: dict = {}
    for part in ('train', 'test'):
        recs = [r for name, r in records if split.get(name) == part]
        if not recs:
            raise ValueError(f'official split: no frame belongs to the {part} set (names in the '
                             f'split file: {sorted(split)[:5]}...; names of the labels: '
                             f'{sorted({n for n, _ in records})[:5]}...)')
        _dump(out_dir, f'official_{part}.txt', au_names, recs, counts)
    unlisted = sorted({name for name, _ in records if name not in split})
    with open(osp.join(out_dir, 'official_split.json'), 'w') as f:
        json.dump({'counts': counts, 'unlisted': unlisted}, f, indent=1)
    return dict(counts=counts, unlisted=unlisted)


@DATASETS.register_module()
class AUListDataset(BaseDataset):
    """Multi-label AU detection dataset read from an AU list file (see module docstring).

    Args:
        ann_file (str): The list file (relative to ``data_root``).
        au_names (Sequence[str], optional): AUs to use, in order (e.g. BP4D's 12); default
            every AU of the header. They become ``metainfo['classes']``.
        drop_all_unknown (bool): Drop frames whose selected AUs are all unknown (counted
            and logged). Defaults to False (kept, fully masked).
        data_root (str): Root of ``ann_file`` and images.
        data_prefix (str | dict): Image folder (relative to ``data_root``).
        pipeline (Sequence): Transforms.
        **kwargs: Other :class:`mmpretrain.datasets.BaseDataset` arguments.
    """

    def __init__(self, ann_file: str, au_names: Optional[Sequence[str]] = None,
                 drop_all_unknown: bool = False, data_root: str = '',
                 data_prefix='', pipeline: Sequence = (), **kwargs) -> None:
        self.au_names = list(au_names) if au_names is not None else None
        self.drop_all_unknown = drop_all_unknown
        metainfo = kwargs.pop('metainfo', None)
        if metainfo and 'classes' in metainfo and au_names is not None and \
                list(metainfo['classes']) != list(au_names):
            raise ValueError(f'AUListDataset: metainfo classes {metainfo["classes"]} differ '
                             f'from au_names {list(au_names)}')
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=data_prefix, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        names, paths, labels = read_au_list(self.ann_file, self.au_names)
        self._metainfo['classes'] = tuple(names)
        known = labels >= 0
        keep = np.ones(len(paths), dtype=bool)
        all_unknown = ~known.any(axis=1)
        if self.drop_all_unknown and all_unknown.any():
            keep = ~all_unknown
        prefix = self.data_prefix.get('img_path', '') if isinstance(self.data_prefix, dict) \
            else self.data_prefix
        data_list = []
        for i in np.flatnonzero(keep):
            data_list.append(dict(
                img_path=osp.join(prefix, paths[i]) if prefix else paths[i],
                gt_score=labels[i].astype(np.float32),
                au_mask=known[i].copy()))
        lab = labels[keep]
        summary = ', '.join(
            f'{a}: {int((lab[:, j] == 1).sum())}+/{int((lab[:, j] == 0).sum())}-/'
            f'{int((lab[:, j] < 0).sum())}?' for j, a in enumerate(names))
        msg = (f'AUListDataset {self.ann_file}: {len(data_list)} frames, {len(names)} AUs '
               f'({summary})')
        if all_unknown.any():
            what = 'dropped' if self.drop_all_unknown else 'kept fully masked'
            msg += f'; {int(all_unknown.sum())} frames with every AU unknown {what}'
        print_log(msg, logger='current')
        self.num_all_unknown = int(all_unknown.sum())
        if not data_list:
            raise ValueError(f'{msg}: no frames (an AU list with only a header, or every '
                             'frame dropped by drop_all_unknown)')
        return data_list

