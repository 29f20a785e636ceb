# Copyright (c) mmfer contributors. All rights reserved.
"""RAF-DB (Real-world Affective Faces, basic emotion subset) in its release layout."""
import csv
import os.path as osp
from collections import Counter
from typing import List, Optional

from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS
from .utils import check_missing, log_counts


@DATASETS.register_module()
class RAFDB(BaseDataset):
    """RAF-DB basic (7 expressions) read from the official release layout::

        data_root/
        ├── EmoLabel/list_patition_label.txt   # "train_00001.jpg 5", "test_0001.jpg 3"
        └── Image/
            ├── aligned/train_00001_aligned.jpg  # 100x100 aligned faces (default)
            └── original/train_00001.jpg         # original images (``aligned=False``)

    Labels 1-7 of the file are Surprise, Fear, Disgust, Happiness, Sadness, Anger, Neutral;
    ``gt_label`` is the 0-based index in that order (``metainfo['classes']``). The split
    comes from the file-name prefix (``train_`` / ``test_``).

    Args:
        data_root (str): Root of the release.
        split (str): ``'train'`` or ``'test'``.
        aligned (bool): Use ``Image/aligned`` (True) or ``Image/original``. Defaults True.
        ann_file (str): Label file relative to ``data_root``.
        skip_missing (bool): Drop (and count) lines whose image does not exist instead of
            raising. Defaults to False.
        identity_file (str, optional): CSV (relative to ``data_root``) with columns
            ``img_path`` (relative to ``data_root``) and ``identity``, such as the synthetic
            writer's ``meta.csv``; when it exists every item gets ``identity`` (int), and an
            image it does not list is an error. The real release has none. Defaults to
            ``'meta.csv'``.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset` (``pipeline``,
            ``test_mode``, ``indices`` ...).

    Every item has ``img_path`` (absolute), ``gt_label`` (int), ``img_name`` (the name
    in the label file) and, with an ``identity_file``, ``identity`` (int).
    """
    METAINFO = dict(classes=('Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness', 'Anger',
                             'Neutral'))
    SPLITS = ('train', 'test')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 aligned: bool = True,
                 ann_file: str = 'EmoLabel/list_patition_label.txt',
                 skip_missing: bool = False,
                 identity_file: Optional[str] = 'meta.csv',
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'RAFDB: split must be one of {self.SPLITS}, got {split!r}')
        self.split = split
        self.aligned = aligned
        self.skip_missing = skip_missing
        self.identity_file = identity_file
        img_dir = osp.join('Image', 'aligned' if aligned else 'original')
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=dict(img_path=img_dir), **kwargs)

    def _image_name(self, name: str) -> str:
        if not self.aligned:
            return name
        stem, ext = osp.splitext(name)
        return f'{stem}_aligned{ext}'

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'RAFDB: label file {self.ann_file} not found (expected '
                                    '<data_root>/EmoLabel/list_patition_label.txt)')
        num_classes = len(self.METAINFO['classes'])
        identities = self._read_identities()
        data_list, missing, dropped = [], [], Counter()
        with open(self.ann_file) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.split()
                if len(parts) != 2:
                    raise ValueError(f'{self.ann_file}:{lineno}: expected "<image> <label>", '
                                     f'got {line.rstrip()!r}')
                name, label = parts
                try:
                    label = int(label)
                except ValueError:
                    raise ValueError(f'{self.ann_file}:{lineno}: label {label!r} is not an '
                                     'integer') from None
                if not 1 <= label <= num_classes:
                    raise ValueError(f'{self.ann_file}:{lineno}: label {label} outside 1-'
                                     f'{num_classes}')
                prefix = name.split('_', 1)[0]
                if prefix not in self.SPLITS:
                    raise ValueError(f'{self.ann_file}:{lineno}: image name {name!r} does not '
                                     'start with train_ or test_')
                if prefix != self.split:
                    continue
                img_path = osp.join(self.data_prefix['img_path'], self._image_name(name))
                if not osp.isfile(img_path):
                    missing.append(img_path)
                    continue
                data_list.append(dict(img_path=img_path, gt_label=label - 1, img_name=name))
                if identities is not None:
                    key = osp.relpath(img_path, self.data_root).replace(osp.sep, '/')
                    if key not in identities:
                        raise KeyError(f'RAFDB: {self._identity_path} has no identity for '
                                       f'{key} ({self.ann_file}:{lineno})')
                    data_list[-1]['identity'] = identities[key]
        check_missing('RAFDB', missing, self.skip_missing, dropped)
        log_counts('RAFDB', self.split, len(data_list), dropped, self.ann_file)
        return data_list

    @property
    def _identity_path(self) -> Optional[str]:
        if not self.identity_file:
            return None
        return osp.join(self.data_root or '', self.identity_file)

    def _read_identities(self) -> Optional[dict]:
        """``{img_path relative to data_root: identity}`` from the identity file, if any."""
        path = self._identity_path
        if path is None or not osp.isfile(path):
            return None
        with open(path, newline='') as f:
            reader = csv.DictReader(f)
            if not {'img_path', 'identity'} <= set(reader.fieldnames or ()):
                raise ValueError(f'{path}:1: expected columns img_path and identity, got '
                                 f'{reader.fieldnames}')
            try:
                return {r['img_path']: int(r['identity']) for r in reader}
            except (TypeError, ValueError) as e:
                raise ValueError(f'{path}:{reader.line_num}: bad identity: {e}') from None
