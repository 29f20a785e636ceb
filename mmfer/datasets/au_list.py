# Copyright (c) mmfer contributors. All rights reserved.
"""A generic facial action unit (AU) list dataset (DISFA / BP4D / GFT after conversion).

List file format (written by ``tools/dataset_converters/{disfa,bp4d,gft}.py``; the writer,
``write_au_list``, lives in ``tools/dataset_converters/bp4d.py`` so that the converters
run without importing torch/mmfer)::

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
"""
import os.path as osp
from typing import List, Optional, Sequence

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

