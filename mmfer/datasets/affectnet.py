# Copyright (c) mmfer contributors. All rights reserved.
"""AffectNet (manually annotated part) from the official ``training.csv`` / ``validation.csv``."""
import csv
import os.path as osp
from collections import Counter
from typing import List, Optional

import numpy as np
from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS
from .utils import check_missing, log_counts

AFFECTNET_HEADER = ('subDirectory_filePath', 'face_x', 'face_y', 'face_width', 'face_height',
                    'facial_landmarks', 'expression', 'valence', 'arousal')
#: Names of the non-emotion codes of the expression column (always dropped and counted).
AFFECTNET_SPECIAL_CODES = {8: 'None', 9: 'Uncertain', 10: 'No-Face'}


@DATASETS.register_module()
class AffectNet(BaseDataset):
    """AffectNet read from the official release layout::

        data_root/
        ├── Manually_Annotated_file_lists/{training,validation}.csv
        └── Manually_Annotated_Images/<subDirectory_filePath>   # e.g. 689/737db2...ca.jpg

    CSV header: ``subDirectory_filePath,face_x,face_y,face_width,face_height,
    facial_landmarks,expression,valence,arousal``. Expression codes: 0 Neutral, 1 Happy,
    2 Sad, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt, 8 None, 9 Uncertain,
    10 No-Face. ``gt_label`` is the code itself (AffectNet order, ``metainfo['classes']``);
    with ``num_classes=7`` Contempt rows are dropped. Codes 8-10 are always dropped. Every
    drop is counted and logged per reason.

    Items: ``img_path``, ``gt_label``, ``valence`` / ``arousal`` (floats in [-1, 1]; -2 in the
    file marks "not annotated" and is kept as is: :class:`VAMetric` ignores values outside
    [-1, 1]), ``gt_va`` float32 (2,), ``face_bbox`` float32 (x1, y1, x2, y2) when
    ``crop_face`` (used by the :class:`~mmfer.datasets.transforms.CropFaceBox` transform),
    and ``gt_keypoints`` float32 (68, 2) when ``with_landmarks`` and the row has 136 values.

    Args:
        data_root (str): Root of the release.
        split (str): ``'train'`` (training.csv) or ``'val'`` (validation.csv; the public
            test set of papers).
        num_classes (int): 7 or 8 (8 keeps Contempt). Defaults to 7.
        crop_face (bool): Images are full pictures: attach the face box so that the
            pipeline's :class:`CropFaceBox` crops them. Set False for pre-cropped images.
            Defaults to True.
        with_landmarks (bool): Parse ``facial_landmarks``. Defaults to False.
        ann_file (str, optional): CSV relative to ``data_root``; defaults by split.
        img_dir (str): Image folder relative to ``data_root``.
        skip_missing (bool): Drop and count rows whose image is missing instead of raising.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """
    METAINFO_8 = dict(classes=('Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust',
                               'Anger', 'Contempt'))
    METAINFO_7 = dict(classes=METAINFO_8['classes'][:7])
    METAINFO = METAINFO_7
    ANN_FILES = dict(train='Manually_Annotated_file_lists/training.csv',
                     val='Manually_Annotated_file_lists/validation.csv')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 num_classes: int = 7,
                 crop_face: bool = True,
                 with_landmarks: bool = False,
                 ann_file: Optional[str] = None,
                 img_dir: str = 'Manually_Annotated_Images',
                 skip_missing: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.ANN_FILES:
            raise ValueError(f'AffectNet: split must be one of {list(self.ANN_FILES)}, got '
                             f'{split!r}')
        if num_classes not in (7, 8):
            raise ValueError(f'AffectNet: num_classes must be 7 or 8, got {num_classes}')
        self.split = split
        self.num_classes = num_classes
        self.crop_face = crop_face
        self.with_landmarks = with_landmarks
        self.skip_missing = skip_missing
        meta = dict(self.METAINFO_8 if num_classes == 8 else self.METAINFO_7)
        meta.update(metainfo or {})
        super().__init__(ann_file=ann_file or self.ANN_FILES[split], metainfo=meta,
                         data_root=data_root, data_prefix=dict(img_path=img_dir), **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'AffectNet: annotation file {self.ann_file} not found')
        data_list, missing, dropped = [], [], Counter()
        with open(self.ann_file, newline='') as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or tuple(h.strip() for h in header) != AFFECTNET_HEADER:
                raise ValueError(f'{self.ann_file}:1: expected the header '
                                 f'{",".join(AFFECTNET_HEADER)}, got {header}')
            for lineno, row in enumerate(reader, 2):
                if not row:
                    continue
                if len(row) != len(AFFECTNET_HEADER):
                    raise ValueError(f'{self.ann_file}:{lineno}: expected '
                                     f'{len(AFFECTNET_HEADER)} columns, got {len(row)}')
                try:
                    code = int(row[6])
                    box = [float(v) for v in row[1:5]]
                    valence, arousal = float(row[7]), float(row[8])
                except ValueError as e:
                    raise ValueError(f'{self.ann_file}:{lineno}: {e}') from None
                if not np.isfinite(box + [valence, arousal]).all():
                    raise ValueError(f'{self.ann_file}:{lineno}: non-finite face box or '
                                     f'valence/arousal {box + [valence, arousal]}')
                if code in AFFECTNET_SPECIAL_CODES:
                    dropped[f'code {code} ({AFFECTNET_SPECIAL_CODES[code]})'] += 1
                    continue
                if not 0 <= code <= 7:
                    raise ValueError(f'{self.ann_file}:{lineno}: expression code {code} outside '
                                     '0-10')
                if code >= self.num_classes:
                    dropped['Contempt (num_classes=7)'] += 1
                    continue
                img_path = osp.join(self.data_prefix['img_path'], row[0])
                if not osp.isfile(img_path):
                    missing.append(img_path)
                    continue
                info = dict(img_path=img_path, gt_label=code, valence=valence,
                            arousal=arousal, gt_va=np.array([valence, arousal], np.float32))
                if self.crop_face:
                    x, y, w, h = box
                    if w <= 0 or h <= 0:
                        raise ValueError(f'{self.ann_file}:{lineno}: empty face box {box}')
                    info['face_bbox'] = np.array([x, y, x + w, y + h], np.float32)
                if self.with_landmarks and row[5].strip():
                    try:
                        pts = np.array([float(v) for v in row[5].split(';') if v.strip()],
                                       np.float32)
                    except ValueError as e:
                        raise ValueError(f'{self.ann_file}:{lineno}: facial_landmarks: '
                                         f'{e}') from None
                    if pts.size != 136:
                        raise ValueError(f'{self.ann_file}:{lineno}: facial_landmarks has '
                                         f'{pts.size} values, expected 136')
                    if not np.isfinite(pts).all():
                        raise ValueError(f'{self.ann_file}:{lineno}: facial_landmarks has '
                                         'non-finite values')
                    info['gt_keypoints'] = pts.reshape(68, 2)
                data_list.append(info)
        check_missing('AffectNet', missing, self.skip_missing, dropped)
        log_counts('AffectNet', self.split, len(data_list), dropped, self.ann_file)
        return data_list

