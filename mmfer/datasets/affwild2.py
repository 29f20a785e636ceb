# Copyright (c) mmfer contributors. All rights reserved.
"""Aff-Wild2 frame datasets (ABAW challenge release layout).

Layout read (``data_root`` relative, both paths configurable)::

    annotations/
        EXPR_Classification_Challenge/{Train_Set,Validation_Set}/<video>.txt
        VA_Estimation_Challenge/{Train_Set,Validation_Set}/<video>.txt
        AU_Detection_Challenge/{Train_Set,Validation_Set}/<video>.txt
    cropped_aligned/<video>/<NNNNN>.jpg

Every annotation file has a header line then one line per video frame: line ``i`` after the
header annotates frame ``i`` (1-based), whose image is ``cropped_aligned/<video>/<i:05d>.jpg``.
The video name is the annotation file's stem, used verbatim (``video10_1_left`` and
``video10_1_right`` are two videos with their own image folders).

- EXPR: header ``Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other``, one integer
  per line, ``gt_label`` is 0-based in the header's order; ``-1`` = unannotated.
- VA: header ``valence,arousal``, two floats in [-1, 1] per line; ``-5`` = unannotated.
- AU: header ``AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26``, twelve values in
  {0, 1} per line; ``-1`` = unannotated.

Unannotated lines and frames without an image are skipped (unless ``keep_unannotated``) and
counted in :attr:`AffWild2Base.stats`, which is logged once the dataset is loaded. A malformed
file raises a ``ValueError`` naming ``file:line``.

Frame subsampling (``frame_interval``): training uses one frame in every ``frame_interval``
(default 10 for ``split='train'``, 1 otherwise), with a random offset drawn per video and per
epoch. The dataset itself always holds every usable frame (``len(dataset)`` is the number of
usable frames); :meth:`AffWild2Base.sample_indices` returns the frames of one epoch, a pure
function of ``(seed, epoch)``. :class:`mmfer.datasets.samplers.VideoFrameSampler` calls it
at every epoch: the sampler lives in the main process and receives the epoch from mmengine
(``DistSamplerSeedHook`` for epoch-based loops, the infinite dataloader iterator for
iteration-based ones), so the choice reaches dataloader workers, persistent ones included,
and every rank draws the same frames before sharding.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset

from mmfer.registry import DATASETS

EXPR_CLASSES = ('Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise',
                'Other')
VA_NAMES = ('valence', 'arousal')
AU_NAMES = ('AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU15', 'AU23', 'AU24', 'AU25',
            'AU26')

SPLIT_DIRS = {'train': 'Train_Set', 'val': 'Validation_Set'}


class AffWild2Base(BaseDataset):
    """Shared reader of the three Aff-Wild2 challenge tracks.

    Subclasses set ``CHALLENGE_DIR`` and ``HEADER`` and implement :meth:`parse_line`.

    Args:
        data_root (str): Root of the release (holds ``annotations/`` and
            ``cropped_aligned/``).
        split (str): ``'train'`` (``Train_Set``) or ``'val'`` (``Validation_Set``).
        ann_file (str, optional): Folder of the ``<video>.txt`` files; defaults to
            ``annotations/<CHALLENGE_DIR>/<Train_Set|Validation_Set>`` (relative to
            ``data_root``).
        data_prefix (str | dict): Image folder holding ``<video>/<NNNNN>.jpg``.
            Defaults to ``'cropped_aligned'``.
        frame_interval (int, optional): Keep one frame in ``frame_interval`` per epoch (see
            :meth:`sample_indices`). Defaults to 10 for ``'train'`` and 1 for ``'val'``.
        seed (int): Seed of the per-video offsets when :meth:`sample_indices` is called
            without one. Defaults to 0.
        keep_unannotated (bool): Keep unannotated lines (with their image) instead of
            skipping them; their labels are the ``-1``/``-5`` markers (as ``ignore`` values),
            which is what the submission writer needs. Defaults to False.
        videos (Sequence[str], optional): Only read these videos (annotation file stems).
        img_suffix (str): Image extension. Defaults to ``'.jpg'``.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset` (``pipeline``,
            ``test_mode``, ``lazy_init``, ...).
    """

    CHALLENGE_DIR: str = ''
    HEADER: Tuple[str, ...] = ()
    #: Name of the "unannotated" marker in log messages.
    UNANNOTATED: str = '-1'

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 data_prefix: str = 'cropped_aligned',
                 frame_interval: Optional[int] = None,
                 seed: int = 0,
                 keep_unannotated: bool = False,
                 videos: Optional[Sequence[str]] = None,
                 img_suffix: str = '.jpg',
                 **kwargs) -> None:
        if split not in SPLIT_DIRS:
            raise ValueError(f'{type(self).__name__}: split must be one of '
                             f'{sorted(SPLIT_DIRS)}, got {split!r}')
        if frame_interval is None:
            frame_interval = 10 if split == 'train' else 1
        if int(frame_interval) < 1:
            raise ValueError(f'{type(self).__name__}: frame_interval must be >= 1, '
                             f'got {frame_interval}')
        self.split = split
        self.frame_interval = int(frame_interval)
        self.seed = int(seed)
        self.keep_unannotated = keep_unannotated
        self.only_videos = None if videos is None else list(videos)
        self.img_suffix = img_suffix
        if ann_file is None:
            ann_file = osp.join('annotations', self.CHALLENGE_DIR, SPLIT_DIRS[split])
        kwargs.setdefault('test_mode', split != 'train')
        self.stats: Dict[str, int] = {}
        self.video_infos: List[dict] = []
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    # ----------------------------------------------------------------------- parsing
    def parse_line(self, line: str, where: str) -> Tuple[Optional[dict], str]:
        """Parse one annotation line.

        Args:
            line (str): The stripped line.
            where (str): ``file:line`` for error messages.

        Returns:
            tuple: (label fields or None when unannotated, status) with status one of
            ``'ok'``, ``'unannotated'``, ``'partial'`` (AU: some AUs unannotated).
        """
        raise NotImplementedError

    def unannotated_fields(self) -> dict:
        """Label fields given to unannotated lines kept with ``keep_unannotated``."""
        raise NotImplementedError

    def _check_header(self, header: str, ann_path: str) -> None:
        names = tuple(h.strip().lower() for h in header.split(','))
        if names != tuple(h.lower() for h in self.HEADER):
            raise ValueError(f'{ann_path}:1: expected the header line '
                             f'{",".join(self.HEADER)!r}, got {header!r}')

    def _list_videos(self) -> List[Tuple[str, str]]:
        ann_dir = self.ann_file
        if not osp.isdir(ann_dir):
            raise FileNotFoundError(
                f'{type(self).__name__}: annotation folder {ann_dir} does not exist (expected '
                f'<data_root>/annotations/{self.CHALLENGE_DIR}/{SPLIT_DIRS[self.split]}/'
                '<video>.txt)')
        names = sorted(f for f in os.listdir(ann_dir) if f.endswith('.txt'))
        videos = [(osp.splitext(f)[0], osp.join(ann_dir, f)) for f in names]
        if self.only_videos is not None:
            known = {v for v, _ in videos}
            missing = [v for v in self.only_videos if v not in known]
            if missing:
                raise ValueError(f'{type(self).__name__}: videos {missing} have no annotation '
                                 f'file in {ann_dir}')
            wanted = set(self.only_videos)
            videos = [(v, p) for v, p in videos if v in wanted]
        if not videos:
            raise ValueError(f'{type(self).__name__}: no <video>.txt annotation files in '
                             f'{ann_dir}')
        return videos

    def load_data_list(self) -> List[dict]:
        """Read every ``<video>.txt`` and keep the annotated frames that have an image."""
        img_root = self.data_prefix['img_path']
        data_list: List[dict] = []
        stats = dict(videos=0, lines=0, unannotated=0, partial=0, missing_images=0,
                     videos_without_image_folder=0, samples=0)
        self.video_infos = []
        video_idx, frames, labels = [], [], []
        for vid, (video, ann_path) in enumerate(self._list_videos()):
            with open(ann_path, encoding='utf-8') as f:
                lines = f.read().splitlines()
            while lines and not lines[-1].strip():
                lines.pop()  # trailing blank lines carry no frame
            if not lines:
                raise ValueError(f'{ann_path}: empty annotation file (no header line)')
            self._check_header(lines[0].strip(), ann_path)
            video_dir = osp.join(img_root, video)
            if osp.isdir(video_dir):
                with os.scandir(video_dir) as it:
                    images = {e.name for e in it}
            else:
                images = set()
                stats['videos_without_image_folder'] += 1
            first = len(data_list)
            for lineno, line in enumerate(lines[1:], start=2):
                frame = lineno - 1
                where = f'{ann_path}:{lineno}'
                line = line.strip()
                if not line:
                    raise ValueError(f'{where}: blank line inside the annotation file (every '
                                     'line after the header is one frame)')
                fields, status = self.parse_line(line, where)
                stats['lines'] += 1
                if status == 'unannotated':
                    stats['unannotated'] += 1
                    if not self.keep_unannotated:
                        continue
                    fields = self.unannotated_fields()
                elif status == 'partial':
                    stats['partial'] += 1
                name = f'{frame:05d}{self.img_suffix}'
                if name not in images:
                    stats['missing_images'] += 1
                    continue
                info = dict(img_path=osp.join(video_dir, name), video=video, frame=frame)
                info.update(fields)
                data_list.append(info)
                video_idx.append(vid)
                frames.append(frame)
                labels.append(info.get('gt_label', -1))
            self.video_infos.append(
                dict(video=video, ann_file=ann_path, num_frames=len(lines) - 1,
                     img_dir=video_dir, first=first, num_samples=len(data_list) - first))
            stats['videos'] += 1
        stats['samples'] = len(data_list)
        self.stats = stats
        self._video_idx = np.asarray(video_idx, dtype=np.int64)
        self._frames = np.asarray(frames, dtype=np.int64)
        self._labels = np.asarray(labels, dtype=np.int64)
        kept = ('kept with their image' if self.keep_unannotated else 'skipped')
        print_log(
            f'{type(self).__name__}({self.split}) from {self.ann_file}: {stats["videos"]} '
            f'videos, {stats["lines"]} frame lines; {stats["unannotated"]} unannotated '
            f'({self.UNANNOTATED}) lines {kept}; {stats["missing_images"]} frames without an '
            f'image skipped ({stats["videos_without_image_folder"]} videos without an image '
            f'folder under {img_root})'
            + (f'; {stats["partial"]} partially annotated lines kept with a mask'
               if stats['partial'] else '') + f'; {stats["samples"]} samples.',
            logger='current')
        if not data_list:
            raise ValueError(f'{type(self).__name__}({self.split}): no usable frame in '
                             f'{self.ann_file} with images under {img_root} '
                             f'(stats: {stats})')
        return data_list

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        if self._indices is not None:  # a subset: recompute the per-sample arrays
            infos = [self.get_data_info(i) for i in range(len(self))]
            names = {info['video'] for info in infos}
            order = {v['video']: i for i, v in enumerate(self.video_infos)
                     if v['video'] in names}
            self._video_idx = np.asarray([order[i['video']] for i in infos], dtype=np.int64)
            self._frames = np.asarray([i['frame'] for i in infos], dtype=np.int64)
            self._labels = np.asarray([i.get('gt_label', -1) for i in infos], dtype=np.int64)

    # ----------------------------------------------------------------------- sampling
    def sample_indices(self, epoch: int = 0, seed: Optional[int] = None) -> np.ndarray:
        """Indices of the frames used in ``epoch``: one in ``frame_interval`` per video.

        For every video an offset ``r`` is drawn uniformly in ``[0, frame_interval)`` from
        a generator seeded with ``(seed, epoch)``; the epoch uses the usable frames whose
        frame number ``f`` (1-based) satisfies ``(f - 1) % frame_interval == r``, i.e. one
        frame in every ``frame_interval`` of the video timeline (a slot whose frame is
        unannotated or has no image is simply not used that epoch).

        Args:
            epoch (int): Epoch number.
            seed (int, optional): Defaults to the dataset's ``seed``.

        Returns:
            np.ndarray: sorted int64 indices into this dataset (all of them when
            ``frame_interval == 1``).
        """
        self.full_init()
        if self.frame_interval == 1:
            return np.arange(len(self), dtype=np.int64)
        seed = self.seed if seed is None else int(seed)
        rng = np.random.default_rng([seed, int(epoch)])
        offsets = rng.integers(0, self.frame_interval, size=len(self.video_infos))
        keep = (self._frames - 1) % self.frame_interval == offsets[self._video_idx]
        return np.flatnonzero(keep).astype(np.int64)

    def extra_repr(self) -> List[str]:
        body = super().extra_repr()
        body.append(f'Split: \t{self.split}')
        body.append(f'Frame interval: \t{self.frame_interval}')
        if self.stats:
            body.append(f'Stats: \t{self.stats}')
        return body


@DATASETS.register_module()
class AffWild2Expr(AffWild2Base):
    """Aff-Wild2 expression track (8 classes in the header's order).

    Data items: ``img_path``, ``gt_label`` (int in [0, 7], ``-1`` only when
    ``keep_unannotated``), ``video``, ``frame`` (1-based). See :class:`AffWild2Base`.
    """

    CHALLENGE_DIR = 'EXPR_Classification_Challenge'
    HEADER = EXPR_CLASSES
    METAINFO = dict(classes=EXPR_CLASSES)

    def parse_line(self, line: str, where: str) -> Tuple[Optional[dict], str]:
        try:
            label = int(line)
        except ValueError:
            raise ValueError(f'{where}: expected one integer label in [-1, 7], got '
                             f'{line!r}') from None
        if label == -1:
            return None, 'unannotated'
        if not 0 <= label < len(EXPR_CLASSES):
            raise ValueError(f'{where}: label {label} is outside [-1, 7]')
        return dict(gt_label=label), 'ok'

    def unannotated_fields(self) -> dict:
        return dict(gt_label=-1)

    def frame_labels(self, video: str) -> np.ndarray:
        """Labels of every listed frame of ``video`` (annotation lines in order).

        Frames without an image are included; unannotated frames are ``-1``.

        Returns:
            np.ndarray: (num_frames,) int64, entry ``f - 1`` is frame ``f``.
        """
        self.full_init()
        infos = [v for v in self.video_infos if v['video'] == video]
        if not infos:
            raise KeyError(f'{type(self).__name__}: unknown video {video!r}')
        ann_path = infos[0]['ann_file']
        with open(ann_path, encoding='utf-8') as f:
            lines = f.read().splitlines()[1:infos[0]['num_frames'] + 1]
        labels = []
        for lineno, line in enumerate(lines, start=2):
            fields, status = self.parse_line(line.strip(), f'{ann_path}:{lineno}')
            labels.append(-1 if status == 'unannotated' else fields['gt_label'])
        return np.asarray(labels, dtype=np.int64)

    def get_gt_labels(self) -> np.ndarray:
        """All ``gt_label`` values, (N,) int64."""
        self.full_init()
        return self._labels.copy()

    def get_cat_ids(self, idx: int) -> List[int]:
        self.full_init()
        return [int(self._labels[idx])]


@DATASETS.register_module()
class AffWild2VA(AffWild2Base):
    """Aff-Wild2 valence-arousal track.

    Data items: ``img_path``, ``gt_va`` (float32 (2,): valence, arousal in [-1, 1]; ``-5``
    only when ``keep_unannotated``), ``video``, ``frame``. A line where either value is
    ``-5`` is unannotated. See :class:`AffWild2Base`.
    """

    CHALLENGE_DIR = 'VA_Estimation_Challenge'
    HEADER = VA_NAMES
    METAINFO = dict(va_names=VA_NAMES)
    UNANNOTATED = '-5'

    def parse_line(self, line: str, where: str) -> Tuple[Optional[dict], str]:
        parts = line.split(',')
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(parts) != 2 or len(values) != 2:
            raise ValueError(f'{where}: expected "valence,arousal" (two numbers), got '
                             f'{line!r}')
        if -5.0 in values:
            return None, 'unannotated'
        if not all(-1.0 <= v <= 1.0 for v in values):
            raise ValueError(f'{where}: valence/arousal {values} outside [-1, 1] '
                             '(-5 marks unannotated frames)')
        return dict(gt_va=np.asarray(values, dtype=np.float32)), 'ok'

    def unannotated_fields(self) -> dict:
        return dict(gt_va=np.full(2, -5.0, dtype=np.float32))

    def get_gt_labels(self) -> np.ndarray:
        raise TypeError('AffWild2VA has no class labels (class-balanced sampling needs '
                        'AffWild2Expr)')

    def get_cat_ids(self, idx: int) -> List[int]:
        raise TypeError('AffWild2VA has no class labels (class-balanced sampling needs '
                        'AffWild2Expr)')


@DATASETS.register_module()
class AffWild2AU(AffWild2Base):
    """Aff-Wild2 action-unit track (12 AUs, multi-label).

    Data items: ``img_path``, ``gt_score`` (float32 (12,) 0/1 targets, 0 where unknown),
    ``au_mask`` (float32 (12,), 1 where the AU is annotated), ``video``, ``frame``. A line
    whose twelve values are all ``-1`` is unannotated (skipped and counted); a line with
    only some ``-1`` values is kept with those AUs masked (counted as ``partial``).
    See :class:`AffWild2Base`.
    """

    CHALLENGE_DIR = 'AU_Detection_Challenge'
    HEADER = AU_NAMES
    METAINFO = dict(au_names=AU_NAMES)

    def parse_line(self, line: str, where: str) -> Tuple[Optional[dict], str]:
        parts = line.split(',')
        try:
            values = [int(p) for p in parts]
        except ValueError:
            values = []
        if len(parts) != len(AU_NAMES) or len(values) != len(AU_NAMES):
            raise ValueError(f'{where}: expected {len(AU_NAMES)} comma-separated integers '
                             f'({",".join(AU_NAMES)}), got {line!r}')
        bad = [(AU_NAMES[i], v) for i, v in enumerate(values) if v not in (-1, 0, 1)]
        if bad:
            raise ValueError(f'{where}: AU values must be 0, 1 or -1 (unannotated), got '
                             f'{bad}')
        arr = np.asarray(values, dtype=np.float32)
        mask = (arr >= 0).astype(np.float32)
        if not mask.any():
            return None, 'unannotated'
        fields = dict(gt_score=np.clip(arr, 0, 1), au_mask=mask)
        return fields, ('ok' if mask.all() else 'partial')

    def unannotated_fields(self) -> dict:
        return dict(gt_score=np.zeros(len(AU_NAMES), np.float32),
                    au_mask=np.zeros(len(AU_NAMES), np.float32))

    def get_gt_labels(self) -> np.ndarray:
        raise TypeError('AffWild2AU is multi-label (class-balanced sampling needs '
                        'AffWild2Expr)')

    def get_cat_ids(self, idx: int) -> List[int]:
        raise TypeError('AffWild2AU is multi-label (class-balanced sampling needs '
                        'AffWild2Expr)')
