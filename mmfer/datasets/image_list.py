# Copyright (c) mmfer contributors. All rights reserved.
"""A dataset of single images given as a list, a CSV, or the unique images of another dataset."""
import copy
import csv
import os.path as osp
import re
from collections import Counter
from typing import Dict, List, Optional, Sequence, Union

from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS
from .utils import check_missing, log_counts


@DATASETS.register_module()
class ImageListDataset(BaseDataset):
    """Single images with optional ``gt_label`` and ``identity``, from one of three sources.

    1. ``img_paths`` (+ optional ``labels`` / ``identities``): explicit lists;
    2. ``ann_file``: a CSV with a header row holding ``img_path`` and optionally
       ``gt_label`` and ``identity`` columns (other columns are ignored) -- e.g. the
       ``meta.csv`` that ``tools/misc/make_synthetic_faces.py`` writes; ``path_regex`` keeps
       the rows whose ``img_path`` matches (``re.search``), the others are counted;
    3. ``source``: another dataset (config or object) whose items hold ``img_paths`` (several
       images, e.g. FEC triplets) or ``img_path``: this dataset lists its **unique** images
       (sorted), and :meth:`groups` maps every source item to the indices of its images plus
       its other fields (``gt_label``, ``triplet_type``, ...). ``FrozenFeatureTestLoop``
       extracts each image once and evaluates one sample per group, e.g. ``TripletAccuracy``
       on FEC triplets.

    Items: ``img_path`` (joined to ``data_root``), ``gt_label`` (-1 when unknown) and, when
    given, ``identity`` and the ``extra_fields``.

    Args:
        img_paths (Sequence[str], optional): Image paths (relative to ``data_root``).
        labels (Sequence[int], optional): One label per image.
        identities (Sequence, optional): One identity (int or str) per image.
        extra_fields (dict, optional): With ``img_paths``: more per-image data-info fields,
            ``name -> sequence`` (e.g. ``face_bbox`` boxes for ``CropFaceBox``).
        ann_file (str): CSV file (relative to ``data_root``). Defaults to ``''``.
        source (dict | BaseDataset, optional): The dataset whose unique images are listed.
        path_regex (str, optional): With ``ann_file``: keep rows whose ``img_path`` matches.
        skip_missing (bool): Drop (and count) images that do not exist instead of raising.
        data_root (str): Root of relative paths.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset` (``pipeline``,
            ``test_mode``, ...).
    """

    def __init__(self,
                 img_paths: Optional[Sequence[str]] = None,
                 labels: Optional[Sequence[int]] = None,
                 identities: Optional[Sequence] = None,
                 extra_fields: Optional[Dict[str, Sequence]] = None,
                 ann_file: str = '',
                 source: Union[dict, BaseDataset, None] = None,
                 path_regex: Optional[str] = None,
                 skip_missing: bool = False,
                 data_root: str = '',
                 **kwargs) -> None:
        given = [name for name, v in (('img_paths', img_paths), ('ann_file', ann_file),
                                      ('source', source)) if v]
        if len(given) != 1:
            raise ValueError('ImageListDataset: give exactly one of img_paths, ann_file or '
                             f'source (got {given or "none"})')
        n = len(img_paths) if img_paths is not None else None
        named = [('labels', labels), ('identities', identities)]
        named += list((extra_fields or {}).items())
        for name, values in named:
            if values is not None and (n is None or len(values) != n):
                raise ValueError(f'ImageListDataset: {name} needs img_paths of the same '
                                 f'length ({n} images, {len(values)} {name})')
        self._paths = list(img_paths) if img_paths is not None else None
        self._labels = list(labels) if labels is not None else None
        self._identities = list(identities) if identities is not None else None
        self._extra = {k: list(v) for k, v in (extra_fields or {}).items()}
        self._source = source
        self._groups: Optional[List[dict]] = None
        self.path_regex = path_regex
        self.skip_missing = skip_missing
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def _rows_from_csv(self, dropped: Counter) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'ImageListDataset: CSV file {self.ann_file} not found')
        pattern = re.compile(self.path_regex) if self.path_regex else None
        rows = []
        with open(self.ann_file, newline='') as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or 'img_path' not in reader.fieldnames:
                raise ValueError(f'{self.ann_file}:1: the header must name an img_path '
                                 f'column, got {reader.fieldnames}')
            for lineno, row in enumerate(reader, 2):
                if pattern is not None and not pattern.search(row['img_path']):
                    dropped['rows not matching path_regex'] += 1
                    continue
                item = dict(img_path=row['img_path'], gt_label=-1)
                for key in ('gt_label', 'identity'):
                    value = (row.get(key) or '').strip()
                    if key in row and not value:
                        raise ValueError(f'{self.ann_file}:{lineno}: empty {key}')
                    if value:
                        try:
                            item[key] = int(value)
                        except ValueError:
                            if key == 'gt_label':
                                raise ValueError(f'{self.ann_file}:{lineno}: gt_label '
                                                 f'{value!r} is not an integer') from None
                            item[key] = value
                rows.append(item)
        return rows

    def _rows_from_source(self) -> List[dict]:
        src = self._source
        if isinstance(src, dict):
            src = DATASETS.build(copy.deepcopy(src))
        items = [src.get_data_info(i) for i in range(len(src))]
        paths = sorted({p for it in items for p in (it.get('img_paths') or [it['img_path']])})
        index = {p: i for i, p in enumerate(paths)}
        skip = {'img_paths', 'img_path', 'sample_idx'}
        self._groups = [dict(indices=[index[p] for p in (it.get('img_paths')
                                                         or [it['img_path']])],
                             **{k: v for k, v in it.items() if k not in skip})
                        for it in items]
        return [dict(img_path=p, gt_label=-1) for p in paths]

    def load_data_list(self) -> List[dict]:
        dropped: Counter = Counter()
        if self._paths is not None:
            rows = [dict(img_path=p, gt_label=-1 if self._labels is None else
                         int(self._labels[i]))
                    for i, p in enumerate(self._paths)]
            if self._identities is not None:
                for row, ident in zip(rows, self._identities):
                    row['identity'] = ident
            for key, values in self._extra.items():
                for row, value in zip(rows, values):
                    row[key] = value
            what = f'{len(rows)} listed images'
        elif self._source is not None:
            rows = self._rows_from_source()
            what = 'unique images of ' + (self._source.get('type', '?') if isinstance(
                self._source, dict) else type(self._source).__name__)
        else:
            rows = self._rows_from_csv(dropped)
            what = self.ann_file
        for row in rows:
            if self.data_root and not osp.isabs(row['img_path']):
                row['img_path'] = osp.join(self.data_root, row['img_path'])
        missing = [r['img_path'] for r in rows if not osp.isfile(r['img_path'])]
        if missing and self._groups is not None:
            self.skip_missing = False  # a group cannot lose one of its images
        check_missing('ImageListDataset', missing, self.skip_missing, dropped)
        rows = [r for r in rows if osp.isfile(r['img_path'])] if missing else rows
        log_counts('ImageListDataset', 'images', len(rows), dropped, what)
        return rows

    def groups(self) -> Optional[List[Dict]]:
        """Per item of ``source``: ``indices`` of its images in this list and its other
        fields (``gt_label``, ``triplet_type``, ...); None without ``source``."""
        return copy.deepcopy(self._groups)
