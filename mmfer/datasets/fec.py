# Copyright (c) mmfer contributors. All rights reserved.
"""FEC (Google Facial Expression Comparison) triplets in mmfer's simple format.

The official release is a CSV of image URLs + face boxes + annotator votes; convert it with
``tools/dataset_converters/fec.py`` (majority vote, face crops) into::

    data_root/
    ├── annotations/train.csv     # or test.csv
    └── images/<name>.jpg         # cropped faces

``annotations/<split>.csv`` header and columns::

    image1,image2,image3,odd_one_out,triplet_type[,agreement]
    a.jpg,b.jpg,c.jpg,3,ONE_CLASS_TRIPLET,0.833

- ``image1..3``: image paths relative to ``images/`` (or absolute);
- ``odd_one_out``: 1, 2 or 3 (official convention) = the image whose expression is the
  most different; the other two are the most similar pair;
- ``triplet_type``: ``ONE_CLASS_TRIPLET`` / ``TWO_CLASS_TRIPLET`` / ``THREE_CLASS_TRIPLET``
  (official strings; stored lower-case as ``one_class`` ...);
- ``agreement`` (optional): fraction of annotators who voted for the majority.
"""
import csv
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence

from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS
from .utils import check_missing, log_counts

FEC_HEADER = ('image1', 'image2', 'image3', 'odd_one_out', 'triplet_type')
FEC_TRIPLET_TYPES = {'ONE_CLASS_TRIPLET': 'one_class', 'TWO_CLASS_TRIPLET': 'two_class',
                     'THREE_CLASS_TRIPLET': 'three_class'}


@DATASETS.register_module()
class FEC(BaseDataset):
    """FEC triplets (see the module docstring for the on-disk format).

    Items: ``img_path`` (the list of the 3 absolute image paths), ``img_paths`` (the same
    list, read by the triplet evaluation), ``gt_label`` (0-based index of the odd one out,
    in 0-2), ``triplet_type`` (``'one_class'`` ...) and ``agreement`` (float, 1.0 if absent).
    ``metainfo['classes']`` names the odd-one-out positions.

    Load and transform the three images with mmpretrain's ``ApplyToList`` (the per-image
    pipeline runs on each path of ``img_path``; ``PackInputs`` then packs ``inputs`` as a
    list of 3 tensors)::

        pipeline = [
            dict(type='ApplyToList', scatter_key='img_path', collate_keys=['img'],
                 transforms=[dict(type='LoadFaceImage'), dict(type='Resize', scale=224)]),
            dict(type='PackInputs', meta_keys=['triplet_type', 'img_paths']),
        ]

    Args:
        data_root (str): Dataset root.
        split (str): ``'train'`` or ``'test'`` (reads ``annotations/<split>.csv``).
        ann_file (str, optional): Annotation CSV relative to ``data_root``.
        img_dir (str): Image folder relative to ``data_root``. Defaults to ``'images'``.
        triplet_types (Sequence[str], optional): Keep only these types (e.g.
            ``['one_class']``); the others are counted and logged as dropped.
        skip_missing (bool): Drop (and count) triplets with a missing image.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """
    METAINFO = dict(classes=('image1', 'image2', 'image3'))

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 img_dir: str = 'images',
                 triplet_types: Optional[Sequence[str]] = None,
                 skip_missing: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"FEC: split must be 'train' or 'test', got {split!r}")
        self.split = split
        if triplet_types is not None:
            bad = set(triplet_types) - set(FEC_TRIPLET_TYPES.values())
            if bad:
                raise ValueError(f'FEC: unknown triplet types {sorted(bad)}; use '
                                 f'{sorted(FEC_TRIPLET_TYPES.values())}')
        self.triplet_types = None if triplet_types is None else set(triplet_types)
        self.skip_missing = skip_missing
        super().__init__(ann_file=ann_file or f'annotations/{split}.csv', metainfo=metainfo,
                         data_root=data_root, data_prefix=dict(img_path=img_dir), **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'FEC: annotation file {self.ann_file} not found '
                                    '(convert the official CSV with '
                                    'tools/dataset_converters/fec.py)')
        data_list, missing, dropped = [], [], Counter()
        with open(self.ann_file, newline='') as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or tuple(h.strip() for h in header[:5]) != FEC_HEADER:
                raise ValueError(f'{self.ann_file}:1: expected the header '
                                 f'{",".join(FEC_HEADER)}[,agreement], got {header}')
            has_agreement = len(header) > 5
            for lineno, row in enumerate(reader, 2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise ValueError(f'{self.ann_file}:{lineno}: expected {len(header)} '
                                     f'columns, got {len(row)}')
                if row[3].strip() not in ('1', '2', '3'):
                    raise ValueError(f'{self.ann_file}:{lineno}: odd_one_out must be 1, 2 or '
                                     f'3, got {row[3]!r}')
                ttype = FEC_TRIPLET_TYPES.get(row[4].strip().upper())
                if ttype is None:
                    raise ValueError(f'{self.ann_file}:{lineno}: unknown triplet_type '
                                     f'{row[4]!r} (expected {list(FEC_TRIPLET_TYPES)})')
                if self.triplet_types is not None and ttype not in self.triplet_types:
                    dropped[f'{ttype} triplets (not selected)'] += 1
                    continue
                paths = [osp.join(self.data_prefix['img_path'], p.strip()) for p in row[:3]]
                absent = [p for p in paths if not osp.isfile(p)]
                if absent:
                    missing.append(f'{absent[0]} (line {lineno})')
                    continue
                agreement = float(row[5]) if has_agreement else 1.0
                data_list.append(dict(img_path=paths, img_paths=list(paths),
                                      gt_label=int(row[3]) - 1, triplet_type=ttype,
                                      agreement=agreement))
        check_missing('FEC', missing, self.skip_missing, dropped,
                      what='triplets have a missing image')
        log_counts('FEC', self.split, len(data_list), dropped, self.ann_file)
        return data_list

    def unique_images(self) -> List[str]:
        """Sorted unique image paths of all triplets (for feature extraction)."""
        return sorted({p for i in range(len(self)) for p in self.get_data_info(i)['img_paths']})

