# Copyright (c) mmfer contributors. All rights reserved.
"""Frames of talking-face videos (VoxCeleb style), with the per-video frame index that the
SSL-FER view transforms (:class:`TimeAug`, :class:`HardNeg`, :class:`FaceSwap`) sample from."""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmfer.registry import DATASETS
from .landmark_io import NUM_FACE_LANDMARKS, load_landmarks

FRAME_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


@dataclass
class VideoFrameIndex:
    """Every frame of the dataset, sorted by (identity, video, frame); shared, never copied.

    Attributes:
        img_paths (np.ndarray): (N,) str, absolute (data_root-joined) frame paths.
        identity (np.ndarray): (N,) int64 identity index (sorted identity folder names).
        video (np.ndarray): (N,) int64 global video index.
        frame (np.ndarray): (N,) int64 frame number (from the file name).
        video_start (np.ndarray): (V,) int64 first position of each video in the arrays.
        video_end (np.ndarray): (V,) int64 one past the last position of each video.
        keypoints (np.ndarray, optional): (N, K, 2) float32 landmarks (zeros where missing).
        has_keypoints (np.ndarray): (N,) bool.
        fps (float): Frames per second of the frame numbers.
    """
    img_paths: np.ndarray
    identity: np.ndarray
    video: np.ndarray
    frame: np.ndarray
    video_start: np.ndarray
    video_end: np.ndarray
    keypoints: Optional[np.ndarray]
    has_keypoints: np.ndarray
    fps: float

    def __len__(self) -> int:
        return len(self.img_paths)

    def video_slice(self, pos: int) -> slice:
        """Positions of the frames of the video of frame position ``pos``."""
        v = int(self.video[pos])
        return slice(int(self.video_start[v]), int(self.video_end[v]))

    def times(self, pos: int) -> np.ndarray:
        """(F,) times in seconds of the frames of ``pos``'s video."""
        return self.frame[self.video_slice(pos)] / self.fps

    def get_keypoints(self, pos: int) -> Optional[np.ndarray]:
        if self.keypoints is None or not self.has_keypoints[pos]:
            return None
        return self.keypoints[pos].copy()


@DATASETS.register_module()
class VoxCelebFrames(BaseDataset):
    """Frames stored as ``<identity>/<video>/<frame>.jpg`` below ``data_prefix``.

    Identities are the sorted identity folder names (``identity`` = their index), videos are
    numbered globally in (identity, video name) order and ``frame`` is the integer file stem
    (e.g. ``00017.jpg`` → 17), the frame number at ``fps`` frames per second (so
    sub-sampled frame dumps keep true times). Each data item::

        img_path, identity (int), video (int), frame (int), frame_pos (int, position in the
        frame index), gt_keypoints ((K, 2) float32, only when the landmark file has the frame),
        frame_index (the shared :class:`VideoFrameIndex`, attached by ``get_data_info``)

    so the pipeline starts with ``LoadFaceImage`` and the dataset-aware transforms
    (``TimeAug``, ``HardNeg``, ``FaceSwap``) draw other frames from ``frame_index``.

    Frames without landmarks are counted and logged (kept, without ``gt_keypoints``); landmark
    entries for frames not in the tree are counted and logged too. Videos with fewer than
    ``min_frames`` frames are dropped, counted and logged. Frames whose clip has no frame 3 s
    (``hardneg_offset``) away are counted and logged (they get no hard negative).

    Args:
        data_root (str): Root folder.
        data_prefix (str | dict): Frame folder below ``data_root`` (``dict(img_path=...)``).
        ann_file (str): Optional list of frame paths (one per line, relative to the frame
            folder); '' scans the folder.
        landmark_file (str, optional): ``.npz`` landmark file (paths relative to ``data_root``,
            see :mod:`mmfer.datasets.landmark_io`).
        fps (float): Frames per second. Defaults to 25.
        anchor_stride (int): Use every n-th frame of a video as an anchor (all frames stay
            available to the view transforms). Defaults to 1.
        min_frames (int): Drop videos with fewer frames. Defaults to 2.
        hardneg_offset (float): Only for the start-up count of frames without a hard negative.
        num_keypoints (int): Landmarks per face. Defaults to 68.
        pipeline (Sequence): Transforms.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    METAINFO = dict(dataset_name='VoxCelebFrames')

    def __init__(self,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 ann_file: str = '',
                 landmark_file: Optional[str] = None,
                 fps: float = 25.,
                 anchor_stride: int = 1,
                 min_frames: int = 2,
                 hardneg_offset: float = 3.,
                 num_keypoints: int = NUM_FACE_LANDMARKS,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 **kwargs) -> None:
        if fps <= 0:
            raise ValueError(f'VoxCelebFrames: fps must be > 0, got {fps}')
        if int(anchor_stride) < 1:
            raise ValueError(f'VoxCelebFrames: anchor_stride must be >= 1, got {anchor_stride}')
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.landmark_file = landmark_file
        self.fps = float(fps)
        self.anchor_stride = int(anchor_stride)
        self.min_frames = int(min_frames)
        self.hardneg_offset = float(hardneg_offset)
        self.num_keypoints = int(num_keypoints)
        self.frame_index: Optional[VideoFrameIndex] = None
        super().__init__(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file,
                         pipeline=pipeline, **kwargs)

    # ------------------------------------------------------------------ loading
    def _list_frames(self, folder: str) -> List[str]:
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'VoxCelebFrames: frame list {self.ann_file} does not '
                                        'exist')
            out = []
            with open(self.ann_file, encoding='utf-8') as f:
                for lineno, line in enumerate(f, 1):
                    line = line.strip()
                    if line and not line.startswith('#'):
                        out.append((line.split()[0].replace(os.sep, '/'), lineno))
            return out
        if not osp.isdir(folder):
            raise FileNotFoundError(f'VoxCelebFrames: frame folder {folder} does not exist')
        out = []
        for root, dirs, files in os.walk(folder, followlinks=True):
            dirs.sort()
            for name in sorted(files):
                if name.lower().endswith(FRAME_EXTENSIONS):
                    out.append((osp.relpath(osp.join(root, name), folder).replace(os.sep, '/'),
                                None))
        return out

    def load_data_list(self) -> List[dict]:
        folder = self.data_prefix.get('img_path', '') or self.data_root
        entries = self._list_frames(folder)
        where = self.ann_file or folder
        parsed = []
        for rel, lineno in entries:
            loc = f'{where}:{lineno}' if lineno is not None else f'{where}/{rel}'
            parts = rel.split('/')
            if len(parts) < 3:
                raise ValueError(f'VoxCelebFrames: {loc}: frame path {rel!r} is not '
                                 '<identity>/<video>/<frame>.<ext>')
            stem = osp.splitext(parts[-1])[0]
            try:
                frame = int(stem)
            except ValueError:
                raise ValueError(f'VoxCelebFrames: {loc}: frame file name {parts[-1]!r} is not '
                                 'an integer frame number') from None
            parsed.append(('/'.join(parts[:-2]), parts[-2], frame, rel))
        if not parsed:
            raise ValueError(f'VoxCelebFrames: no frames found in {where}')
        parsed.sort(key=lambda t: (t[0], t[1], t[2]))

        # Group into videos, drop short ones (counted).
        videos, cur, key = [], [], None
        for p in parsed:
            if (p[0], p[1]) != key:
                if cur:
                    videos.append(cur)
                cur, key = [], (p[0], p[1])
            if cur and cur[-1][2] == p[2]:
                raise ValueError(f'VoxCelebFrames: {where}: frame {p[2]} of {p[0]}/{p[1]} '
                                 f'appears twice ({cur[-1][3]!r} and {p[3]!r})')
            cur.append(p)
        videos.append(cur)
        kept = [v for v in videos if len(v) >= self.min_frames]
        self.num_dropped_videos = len(videos) - len(kept)
        if len(kept) < len(videos):
            n = len(videos) - len(kept)
            n_frames = sum(len(v) for v in videos if len(v) < self.min_frames)
            print_log(f'VoxCelebFrames: dropped {n} of {len(videos)} videos with fewer than '
                      f'{self.min_frames} frames ({n_frames} frames)', logger='current',
                      level=30)
        if not kept:
            raise ValueError(f'VoxCelebFrames: no video in {where} has >= {self.min_frames} frames')

        id_names = sorted({v[0][0] for v in kept})
        id_of = {n: i for i, n in enumerate(id_names)}
        rels, ident, vid, frm, starts, ends = [], [], [], [], [], []
        for vi, v in enumerate(kept):
            starts.append(len(rels))
            for p in v:
                rels.append(p[3])
                ident.append(id_of[p[0]])
                vid.append(vi)
                frm.append(p[2])
            ends.append(len(rels))
        n = len(rels)

        keypoints, has_kpts = None, np.zeros(n, bool)
        if self.landmark_file:
            lm_path = self.landmark_file if osp.isabs(self.landmark_file) else \
                osp.join(self.data_root, self.landmark_file)
            table = load_landmarks(lm_path, self.num_keypoints)
            prefix = osp.relpath(folder, self.data_root).replace(os.sep, '/') \
                if self.data_root else ''
            prefix = '' if prefix in ('.', '') else prefix + '/'
            keypoints = np.zeros((n, self.num_keypoints, 2), np.float32)
            for i, rel in enumerate(rels):
                hit = table.get(prefix + rel)
                if hit is not None:
                    keypoints[i] = hit[0]
                    has_kpts[i] = True
            missing = int((~has_kpts).sum())
            extra = len(table) - int(has_kpts.sum())
            if missing:
                first = rels[int(np.flatnonzero(~has_kpts)[0])]
                print_log(f'VoxCelebFrames: {missing} of {n} frames have no landmarks in '
                          f'{lm_path} (first: {prefix + first}); they are kept without '
                          'gt_keypoints', logger='current', level=30)
            if extra:
                print_log(f'VoxCelebFrames: {extra} entries of {lm_path} are not frames of '
                          'this dataset (ignored)', logger='current', level=30)

        abs_paths = np.array([osp.join(folder, r) for r in rels])
        self.frame_index = VideoFrameIndex(
            img_paths=abs_paths, identity=np.asarray(ident, np.int64),
            video=np.asarray(vid, np.int64), frame=np.asarray(frm, np.int64),
            video_start=np.asarray(starts, np.int64), video_end=np.asarray(ends, np.int64),
            keypoints=keypoints, has_keypoints=has_kpts, fps=self.fps)
        self.num_identities = len(id_names)
        self.num_videos = len(kept)
        self.identity_names = id_names
        self.num_without_hardneg = self._count_without_hardneg()
        if self.num_without_hardneg:
            print_log(f'VoxCelebFrames: {self.num_without_hardneg} of {n} frames have no frame '
                      f'>= {self.hardneg_offset:g} s away in their video (HardNeg skips them)',
                      logger='current', level=20)

        data_list = []
        for i in range(n):
            if (i - starts[vid[i]]) % self.anchor_stride:
                continue
            item = dict(img_path=str(abs_paths[i]), identity=ident[i], video=vid[i],
                        frame=frm[i], frame_pos=i)
            if has_kpts[i]:
                item['gt_keypoints'] = keypoints[i].copy()
            data_list.append(item)
        return data_list

    def _count_without_hardneg(self) -> int:
        idx = self.frame_index
        count = 0
        for s, e in zip(idx.video_start, idx.video_end):
            t = idx.frame[s:e] / self.fps
            count += int(((t - t[0] < self.hardneg_offset)
                          & (t[-1] - t < self.hardneg_offset)).sum())
        return count

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['frame_index'] = self.frame_index  # shared reference, not copied
        return info
