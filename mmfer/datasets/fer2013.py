# Copyright (c) mmfer contributors. All rights reserved.
"""FER2013 from the Kaggle ``fer2013.csv`` (48x48 grey pixels inside the CSV).

The pixels live inside the CSV, so the images are written once, explicitly, by the converter
(``python tools/dataset_converters/fer2013.py data/fer2013/fer2013.csv``, i.e.
:func:`convert_fer2013`)::

    data_root/
    ├── fer2013.csv
    └── fer2013_images/                 # img_dir
        ├── manifest.json               # the CSV's sha256, size and row counts
        ├── Training/00001.png          # <Usage>/<row:05d>.png, row = 1-based data row
        ├── PublicTest/...
        └── PrivateTest/...

The dataset only reads: labels from the CSV, images from ``img_dir``. It refuses to load when
the CSV is not the one the images were converted from (its sha256 differs from the
manifest's), so an edited CSV can never pair new labels with old images.
"""
import csv
import hashlib
import json
import os
import os.path as osp
import shutil
from collections import Counter
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar
from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS
from .utils import check_missing, log_counts

FER2013_HEADER = ('emotion', 'pixels', 'Usage')
FER2013_CLASSES = ('Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral')
FER2013_USAGE = dict(train='Training', val='PublicTest', test='PrivateTest')
FER2013_SIZE = 48
MANIFEST = 'manifest.json'
CONVERTER = 'tools/dataset_converters/fer2013.py'


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def fer2013_image_name(usage: str, row: int) -> str:
    """``<Usage>/<row:05d>.png``: where data row ``row`` (1-based) of the CSV is stored."""
    return f'{usage}/{row:05d}.png'


def read_fer2013_csv(path: str, usages: Optional[Tuple[str, ...]] = None,
                     with_pixels: bool = False) -> Iterator[Tuple[int, int, int, str, object]]:
    """Validated rows of ``fer2013.csv``: ``(row, lineno, label, usage, pixels)``.

    ``row`` is the 1-based data row, ``lineno`` the file line (row + 1). Every error names
    ``path:lineno``.

    Args:
        path (str): The CSV.
        usages (tuple[str], optional): Only yield rows of these Usage values (all rows are
            still checked for the column count and a known Usage).
        with_pixels (bool): Parse and check the pixels (2304 integers in 0-255) and yield
            them as a (48, 48) uint8 array; otherwise ``pixels`` is None.

    Raises:
        FileNotFoundError: no CSV. ValueError: a bad header or row.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'FER2013: {path} not found')
    known = set(FER2013_USAGE.values())
    n = FER2013_SIZE * FER2013_SIZE
    with open(path, newline='') as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header[:3]) != FER2013_HEADER:
            raise ValueError(f'{path}:1: expected header "emotion,pixels,Usage", got {header}')
        for row, fields in enumerate(reader, 1):
            lineno = row + 1
            if not fields:
                continue
            if len(fields) < 3:
                raise ValueError(f'{path}:{lineno}: expected 3 columns, got {len(fields)}')
            usage = fields[2].strip()
            if usage not in known:
                raise ValueError(f'{path}:{lineno}: unknown Usage {usage!r} (expected one of '
                                 f'{sorted(known)})')
            if usages is not None and usage not in usages:
                continue
            try:
                label = int(fields[0])
            except ValueError:
                raise ValueError(f'{path}:{lineno}: emotion {fields[0]!r} is not an '
                                 'integer') from None
            if not 0 <= label < len(FER2013_CLASSES):
                raise ValueError(f'{path}:{lineno}: emotion {label} outside '
                                 f'0-{len(FER2013_CLASSES) - 1}')
            pixels = None
            if with_pixels:
                try:
                    values = np.array(fields[1].split(), dtype=np.int64)
                except ValueError:
                    raise ValueError(f'{path}:{lineno}: pixels are not integers') from None
                if values.size != n:
                    raise ValueError(f'{path}:{lineno}: expected {n} pixel values '
                                     f'({FER2013_SIZE}x{FER2013_SIZE}), got {values.size}')
                if values.min() < 0 or values.max() > 255:
                    bad = values[(values < 0) | (values > 255)]
                    raise ValueError(f'{path}:{lineno}: pixel values must be in 0-255, got '
                                     f'{bad.size} outside (e.g. {int(bad[0])})')
                pixels = values.astype(np.uint8).reshape(FER2013_SIZE, FER2013_SIZE)
            yield row, lineno, label, usage, pixels


def convert_fer2013(csv_path: str, img_dir: Optional[str] = None,
                    progress: bool = True) -> dict:
    """Write every row of ``fer2013.csv`` as ``<img_dir>/<Usage>/<row:05d>.png`` + manifest.

    All rows are validated first (``file:line`` errors, nothing is written for a bad CSV).
    The images go to a temporary folder next to ``img_dir`` that then replaces it, so no
    image of an earlier conversion survives; ``manifest.json`` records the CSV's sha256,
    size and per-Usage row counts.

    Args:
        csv_path (str): ``fer2013.csv``.
        img_dir (str, optional): Output folder. Defaults to ``<csv folder>/fer2013_images``.
        progress (bool): Show a progress bar.

    Returns:
        dict: The manifest (``csv``, ``csv_sha256``, ``csv_size``, ``rows``, ``usage``,
        ``img_dir``).
    """
    img_dir = img_dir or osp.join(osp.dirname(osp.abspath(csv_path)), 'fer2013_images')
    rows = list(read_fer2013_csv(csv_path, with_pixels=True))
    if not rows:
        raise ValueError(f'FER2013: {csv_path} has no data rows')
    parent = osp.dirname(osp.abspath(img_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{osp.basename(img_dir)}.tmp{os.getpid()}')
    if osp.exists(tmp):
        shutil.rmtree(tmp)
    bar = ProgressBar(len(rows)) if progress and len(rows) > 1000 else None
    try:
        for usage in set(r[3] for r in rows):
            os.makedirs(osp.join(tmp, usage))
        for row, _, _, usage, pixels in rows:
            out = osp.join(tmp, fer2013_image_name(usage, row))
            if not cv2.imwrite(out, pixels):
                raise OSError(f'FER2013: cannot write {out}')
            if bar is not None:
                bar.update()
        manifest = dict(csv=osp.abspath(csv_path), csv_sha256=file_sha256(csv_path),
                        csv_size=osp.getsize(csv_path), rows=len(rows),
                        usage=dict(Counter(r[3] for r in rows)), format=1)
        with open(osp.join(tmp, MANIFEST), 'w') as f:
            json.dump(manifest, f, indent=2)
        old = None
        if osp.exists(img_dir):
            old = f'{tmp}.old'
            os.replace(img_dir, old)
        os.replace(tmp, img_dir)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp)
    return dict(manifest, img_dir=img_dir)


@DATASETS.register_module()
class FER2013(BaseDataset):
    """FER2013 (ICML 2013 challenge) from ``fer2013.csv`` and its converted images.

    The CSV has the header ``emotion,pixels,Usage``: ``emotion`` 0-6 = Angry, Disgust, Fear,
    Happy, Sad, Surprise, Neutral (``metainfo['classes']``), ``pixels`` 2304 space-separated
    grey values (48x48, row-major) and ``Usage`` Training / PublicTest / PrivateTest
    (``split='train' | 'val' | 'test'``).

    Convert the CSV once with ``python tools/dataset_converters/fer2013.py
    <data_root>/fer2013.csv`` (see the module docstring for the layout). Items carry the
    PNG's ``img_path`` (any pipeline starting with ``LoadFaceImage`` works; grey PNGs load
    as 3-channel BGR), ``gt_label`` and ``csv_row``. The dataset writes nothing; it raises
    when the images are missing or were converted from a different CSV (compared by sha256).

    Args:
        data_root (str): Folder of ``fer2013.csv``.
        split (str): ``'train'``, ``'val'`` (PublicTest) or ``'test'`` (PrivateTest).
        ann_file (str): CSV name relative to ``data_root``. Defaults to ``fer2013.csv``.
        img_dir (str, optional): The converted images; defaults to
            ``<data_root>/fer2013_images``.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """
    METAINFO = dict(classes=FER2013_CLASSES)
    USAGE = FER2013_USAGE
    SIZE = FER2013_SIZE

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

    def _check_manifest(self) -> None:
        """The images exist and were converted from this very CSV."""
        manifest = osp.join(self.img_dir, MANIFEST)
        rerun = f'run `python {CONVERTER} {self.ann_file} --img-dir {self.img_dir}`'
        if not osp.isfile(manifest):
            raise FileNotFoundError(
                f'FER2013: no converted images for {self.ann_file} ({manifest} not found); '
                f'{rerun} first')
        try:
            with open(manifest) as f:
                expected = json.load(f)['csv_sha256']
        except (ValueError, KeyError) as e:
            raise ValueError(f'FER2013: {manifest} is not a converter manifest ({e}); '
                             f'{rerun}') from None
        actual = file_sha256(self.ann_file)
        if actual != expected:
            raise ValueError(
                f'FER2013: {self.ann_file} changed since its images in {self.img_dir} were '
                f'converted (sha256 {actual[:12]}... now, {expected[:12]}... in {manifest}): '
                f'the images would not match the labels; re-{rerun}')

    def load_data_list(self) -> List[dict]:
        usage = self.USAGE[self.split]
        rows = list(read_fer2013_csv(self.ann_file, usages=(usage, )))
        self._check_manifest()
        data_list, missing, dropped = [], [], Counter()
        for row, _, label, _, _ in rows:
            path = osp.join(self.img_dir, fer2013_image_name(usage, row))
            if not osp.isfile(path):
                missing.append(path)
                continue
            data_list.append(dict(img_path=path, gt_label=label, csv_row=row))
        check_missing('FER2013', missing, False, dropped,
                      what=f'converted images are missing (re-run {CONVERTER})')
        log_counts('FER2013', self.split, len(data_list), dropped, self.ann_file)
        return data_list
