# Copyright (c) mmfer contributors. All rights reserved.
"""FER2013 from the Kaggle ``fer2013.csv`` (48x48 grey pixels inside the CSV)."""
import csv
import os
import os.path as osp
from collections import Counter
from typing import List, Optional

import cv2
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS
from ._fer_utils import log_counts


@DATASETS.register_module()
class FER2013(BaseDataset):
    """FER2013 (ICML 2013 challenge) from ``fer2013.csv``.

    The CSV has the header ``emotion,pixels,Usage``: ``emotion`` 0-6 = Angry, Disgust, Fear,
    Happy, Sad, Surprise, Neutral (``metainfo['classes']``), ``pixels`` 2304 space-separated
    grey values (48x48, row-major) and ``Usage`` Training / PublicTest / PrivateTest
    (``split='train' | 'val' | 'test'``).

    Images live inside the CSV, so on first use every row of the split is decoded once into
    ``img_dir`` as ``<Usage>/<row:05d>.png`` (row = 1-based data row of the CSV; existing
    files are reused) and items carry a normal ``img_path``: any pipeline starting with
    ``LoadFaceImage`` works (grey PNGs load as 3-channel BGR by default).

    Args:
        data_root (str): Folder of ``fer2013.csv``.
        split (str): ``'train'``, ``'val'`` (PublicTest) or ``'test'`` (PrivateTest).
        ann_file (str): CSV name relative to ``data_root``. Defaults to ``fer2013.csv``.
        img_dir (str, optional): Where decoded PNGs go; defaults to
            ``<data_root>/fer2013_images``.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """
    METAINFO = dict(classes=('Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise',
                             'Neutral'))
    USAGE = dict(train='Training', val='PublicTest', test='PrivateTest')
    SIZE = 48

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: str = 'fer2013.csv',
                 img_dir: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.USAGE:
            raise ValueError(f'FER2013: split must be one of {list(self.USAGE)}, got {split!r}')
        self.split = split
        self.img_dir = img_dir or osp.join(data_root, 'fer2013_images')
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'FER2013: {self.ann_file} not found')
        usage = self.USAGE[self.split]
        num_classes = len(self.METAINFO['classes'])
        rows = []
        with open(self.ann_file, newline='') as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:3]] != ['emotion', 'pixels',
                                                                      'Usage']:
                raise ValueError(f'{self.ann_file}:1: expected header "emotion,pixels,Usage", '
                                 f'got {header}')
            usages = Counter()
            for row_idx, row in enumerate(reader, 1):
                lineno = row_idx + 1
                if not row:
                    continue
                if len(row) < 3:
                    raise ValueError(f'{self.ann_file}:{lineno}: expected 3 columns, got '
                                     f'{len(row)}')
                usages[row[2].strip()] += 1
                if row[2].strip() != usage:
                    continue
                try:
                    label = int(row[0])
                except ValueError:
                    raise ValueError(f'{self.ann_file}:{lineno}: emotion {row[0]!r} is not '
                                     'an integer') from None
                if not 0 <= label < num_classes:
                    raise ValueError(f'{self.ann_file}:{lineno}: emotion {label} outside '
                                     f'0-{num_classes - 1}')
                rows.append((row_idx, lineno, label, row[1]))
        unknown = set(usages) - set(self.USAGE.values())
        if unknown:
            raise ValueError(f'{self.ann_file}: unknown Usage values {sorted(unknown)} '
                             f'(expected {sorted(self.USAGE.values())})')
        out_dir = osp.join(self.img_dir, usage)
        data_list = []
        todo = [r for r in rows if not osp.isfile(osp.join(out_dir, f'{r[0]:05d}.png'))]
        if todo:
            os.makedirs(out_dir, exist_ok=True)
            print_log(f'FER2013: decoding {len(todo)} {usage} images to {out_dir}',
                      logger='current')
            bar = ProgressBar(len(todo)) if len(todo) > 1000 else None
        for row_idx, lineno, label, pixels in rows:
            path = osp.join(out_dir, f'{row_idx:05d}.png')
            if todo and not osp.isfile(path):
                self._write_png(path, pixels, lineno)
                if bar is not None:
                    bar.update()
            data_list.append(dict(img_path=path, gt_label=label, csv_row=row_idx))
        log_counts('FER2013', self.split, len(data_list), Counter(), self.ann_file)
        return data_list

    def _write_png(self, path: str, pixels: str, lineno: int) -> None:
        try:
            values = np.array(pixels.split(), dtype=np.int64)
        except ValueError:
            raise ValueError(f'{self.ann_file}:{lineno}: pixels are not integers') from None
        if values.size != self.SIZE * self.SIZE or values.min() < 0 or values.max() > 255:
            raise ValueError(f'{self.ann_file}:{lineno}: expected {self.SIZE * self.SIZE} '
                             f'pixel values in 0-255, got {values.size}')
        img = values.astype(np.uint8).reshape(self.SIZE, self.SIZE)
        tmp = path[:-4] + '.tmp.png'
        if not cv2.imwrite(tmp, img):
            raise OSError(f'FER2013: cannot write {tmp} (is img_dir writable? set img_dir=...)')
        os.replace(tmp, path)
