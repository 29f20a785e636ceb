# Copyright (c) mmfer contributors. All rights reserved.
"""Unlabeled face images for pre-training: an image folder or an MS1M-style list file."""
import logging
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmfer.registry import DATASETS
from .landmark_io import NUM_FACE_LANDMARKS, load_landmarks

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')
_MISSING_LANDMARKS = ('keep', 'drop', 'error')
_MISSING_IMAGES = ('error', 'drop')


def scan_images(folder: str, extensions: Sequence[str] = IMG_EXTENSIONS) -> List[str]:
    """Sorted POSIX paths, relative to ``folder``, of every image below it (recursive)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} does not exist')
    out = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for f in files:
            if f.lower().endswith(tuple(extensions)):
                out.append(osp.relpath(osp.join(root, f), folder).replace(os.sep, '/'))
    return sorted(out)


def parse_image_list(path: str, extensions: Sequence[str] = IMG_EXTENSIONS
                     ) -> List[Tuple[str, Optional[int]]]:
    """Read an MS1M-style list file: one image per line.

    Accepted lines (whitespace or tab separated; blank lines and ``#`` comments skipped):
    ``path``, ``path label``, MXNet ``im2rec`` lists ``index<TAB>label<TAB>path`` and
    InsightFace ``aligned<TAB>path<TAB>label``. The image path is the first field with an image
    extension; the identity label, when present, is the first integer field after it (or the
    one before it for the ``im2rec`` layout).

    Returns:
        list[tuple[str, int | None]]: (path, identity) per line, in file order.

    Raises:
        FileNotFoundError: no such file. ValueError: a line without an image path (names the
        file and line).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'image list {path} does not exist')
    out = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            fields = line.split('\t') if '\t' in line else line.split()
            fields = [x.strip() for x in fields if x.strip()]
            idx = next((i for i, x in enumerate(fields) if x.lower().endswith(tuple(extensions))),
                       None)
            if idx is None:
                raise ValueError(f'{path}:{lineno}: no image path (a field ending in one of '
                                 f'{", ".join(extensions)}) in line {line!r}')
            label = None
            others = fields[idx + 1:] + fields[:idx][::-1][:1]
            for x in others:
                try:
                    label = int(float(x))
                    break
                except ValueError:
                    continue
            out.append((fields[idx], label))
    return out


def read_landmark_text(path: str, num_keypoints: int = NUM_FACE_LANDMARKS) -> np.ndarray:
    """Read one image's landmarks from a text file: 300-W ``.pts`` or K lines of ``x y``.

    Returns:
        np.ndarray: (K, 2) float32.

    Raises:
        ValueError: unreadable/wrong-sized content; names the file (and line).
    """
    with open(path, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f]
    if any(ln.startswith('{') for ln in lines):  # .pts: header, '{', points, '}'
        try:
            start = next(i for i, ln in enumerate(lines) if ln.startswith('{')) + 1
            end = next(i for i in range(start, len(lines)) if lines[i].startswith('}'))
        except StopIteration:
            raise ValueError(f'{path}: .pts file without a closing "}}"') from None
        body = [(start + 1 + i, ln) for i, ln in enumerate(lines[start:end]) if ln]
    else:
        body = [(i + 1, ln) for i, ln in enumerate(lines) if ln and not ln.startswith('#')]
    pts = []
    for lineno, ln in body:
        parts = ln.replace(',', ' ').split()
        try:
            vals = [float(v) for v in parts]
        except ValueError:
            raise ValueError(f'{path}:{lineno}: expected "x y", got {ln!r}') from None
        if len(vals) != 2 or not np.isfinite(vals).all():
            raise ValueError(f'{path}:{lineno}: expected two finite numbers "x y", got {ln!r}')
        pts.append(vals)
    arr = np.asarray(pts, dtype=np.float32).reshape(-1, 2)
    if arr.shape[0] != num_keypoints:
        raise ValueError(f'{path}: expected {num_keypoints} landmarks, found {arr.shape[0]}')
    return arr


@DATASETS.register_module()
class FaceFolderDataset(BaseDataset):
    """Unlabeled face images, optionally with 68 landmarks per image.

    Images come from ``ann_file`` (an MS1M-style list, see :func:`parse_image_list`; paths
    relative to ``data_prefix``) or, without it, from every image below ``data_prefix``.
    The dataset only lists images; the pipeline loads them (``LoadFaceImage`` first, as in
    mmpretrain). Each item handed to the pipeline::

        img_path, sample_idx, keypoints (1, K, 2) float32 (pixels),
        keypoints_visible (1, K) float32, keypoint_scores (1, K) float32, has_landmarks (bool)

    (``keypoints`` all zeros and ``keypoints_visible`` zeros when the image has no landmarks).

    Landmarks come from ``landmark_file`` (the shared ``.npz``, keys relative to
    ``data_root``, see :mod:`mmfer.datasets.landmark_io`) or from per-image text files
    (``landmark_ext='.txt'`` or ``'.pts'``: ``<image path without extension><ext>`` below
    ``landmark_dir``, default the image folder). Images without landmarks are counted and
    logged, then kept without landmark loss (``missing_landmarks='keep'``), dropped
    (``'drop'``) or refused (``'error'``).

    Bad images: a listed file that does not exist at start-up is an error or, with
    ``missing_images='drop'``, dropped, counted and logged (``check_files``); a file that
    cannot be read or decoded during training is the loader's business:
    ``LoadFaceImage(ignore_empty=True)`` skips it (another image is drawn), counts and logs it.

    Args:
        data_root (str): Root folder; relative ``ann_file``/``data_prefix``/landmark paths are
            joined to it.
        ann_file (str): Optional list file. Defaults to '' (scan the folder).
        data_prefix (str | dict): Image folder (or ``dict(img_path=...)``). Defaults to ''.
        landmark_file (str, optional): ``.npz`` landmark file.
        landmark_ext (str, optional): Per-image text landmark extension ('.txt', '.pts').
        landmark_dir (str, optional): Folder of the per-image landmark files.
        missing_landmarks (str): 'keep' | 'drop' | 'error'. Defaults to 'keep'.
        min_landmark_score (float): Landmark files' points whose score is below this get
            ``keypoints_visible`` 0. Defaults to 0. A score of exactly 0 always means
            invisible: the landmark tools write 0 for points they flag (outside the image).
        missing_images (str): A listed image that does not exist at start-up: 'error' (raise,
            naming the file) or 'drop' (count, log and drop it). Defaults to 'error'.
        check_files (bool): Check at start-up that every listed image exists. Defaults to True.
        subset_fraction (float, optional): Keep a random fraction (0, 1] of the listed images
            (e.g. 0.1 for the paper's "10% MS1M"), drawn without replacement with
            ``subset_seed`` before any other check, in listing order, counted and logged.
            None keeps all. Unlike mmengine's ``indices=N`` (the first N images) it does not
            pick the first identities of an identity-sorted list.
        subset_seed (int): Seed of the subset draw; the same seed gives the same images on
            every run and every process. Defaults to 0.
        num_keypoints (int): Landmarks per face. Defaults to 68.
        pipeline (Sequence): Transforms, starting with the image loader.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    METAINFO = dict(dataset_name='FaceFolder')

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Union[str, dict] = '',
                 landmark_file: Optional[str] = None,
                 landmark_ext: Optional[str] = None,
                 landmark_dir: Optional[str] = None,
                 missing_landmarks: str = 'keep',
                 min_landmark_score: float = 0.0,
                 missing_images: str = 'error',
                 check_files: bool = True,
                 subset_fraction: Optional[float] = None,
                 subset_seed: int = 0,
                 num_keypoints: int = NUM_FACE_LANDMARKS,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 **kwargs) -> None:
        name = type(self).__name__
        if missing_landmarks not in _MISSING_LANDMARKS:
            raise ValueError(f'{name}: missing_landmarks must be one of '
                             f'{_MISSING_LANDMARKS}, got {missing_landmarks!r}')
        if missing_images not in _MISSING_IMAGES:
            raise ValueError(f'{name}: missing_images must be one of {_MISSING_IMAGES}, '
                             f'got {missing_images!r}')
        if landmark_file is not None and landmark_ext is not None:
            raise ValueError(f'{name}: give landmark_file or landmark_ext, not both')
        if subset_fraction is not None and not 0 < float(subset_fraction) <= 1:
            raise ValueError(f'{name}: subset_fraction must be in (0, 1], '
                             f'got {subset_fraction!r}')
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.landmark_file = landmark_file
        self.landmark_ext = landmark_ext
        self.landmark_dir = landmark_dir
        self.missing_landmarks = missing_landmarks
        self.min_landmark_score = float(min_landmark_score)
        self.missing_images = missing_images
        self.check_files = check_files
        self.subset_fraction = None if subset_fraction is None else float(subset_fraction)
        self.subset_seed = int(subset_seed)
        self.num_keypoints = int(num_keypoints)
        self.num_listed_images = 0  # before the subset
        self.num_missing_images = 0  # at start-up
        self.num_without_landmarks = 0
        self.num_dropped_without_landmarks = 0
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=data_prefix,
                         pipeline=pipeline, **kwargs)

    # ----------------------------------------------------------------------------- listing
    @property
    def img_prefix(self) -> str:
        return self.data_prefix.get('img_path', '') or self.data_root or ''

    def _landmark_key(self, img_path: str) -> str:
        """Landmark-file key of an image: its path relative to ``data_root`` (POSIX)."""
        base = self.data_root or self.img_prefix
        return osp.relpath(img_path, base).replace(os.sep, '/') if base else img_path

    def _list_images(self) -> List[Tuple[str, Optional[int]]]:
        """(absolute-or-root-joined image path, identity) pairs."""
        prefix = self.img_prefix
        if self.ann_file:
            entries = parse_image_list(self.ann_file)
            return [(p if osp.isabs(p) else osp.join(prefix, p), lab) for p, lab in entries]
        return [(osp.join(prefix, p), None) for p in scan_images(prefix or '.')]

    def _resolve(self, path: Optional[str]) -> Optional[str]:
        if path is None or osp.isabs(path) or not self.data_root:
            return path
        return osp.join(self.data_root, path)

    def _landmark_lookup(self) -> Optional[Callable[[dict], Optional[Tuple[np.ndarray,
                                                                               np.ndarray]]]]:
        if self.landmark_file is not None:
            table = load_landmarks(self._resolve(self.landmark_file), self.num_keypoints)
            return lambda info: table.get(info['landmark_key'])
        if self.landmark_ext is not None:
            ext = self.landmark_ext
            ext = ext if ext.startswith('.') else '.' + ext
            lm_dir = self._resolve(self.landmark_dir)

            def from_text(info):
                stem = osp.splitext(info['landmark_key'])[0]
                path = (osp.join(lm_dir, stem + ext) if lm_dir
                        else osp.splitext(info['img_path'])[0] + ext)
                if not osp.isfile(path):
                    return None
                kpts = read_landmark_text(path, self.num_keypoints)
                return kpts, np.ones(self.num_keypoints, dtype=np.float32)
            return from_text
        return None

    def _data_infos(self) -> List[dict]:
        """One dict per image: img_path, landmark_key (+ identity). Overridden by backends."""
        infos = []
        for path, label in self._list_images():
            info = dict(img_path=path, landmark_key=self._landmark_key(path))
            if label is not None:
                info['identity'] = label
            infos.append(info)
        return infos

    def _exists(self, info: dict) -> bool:
        return osp.isfile(info['img_path'])

    def _subset(self, infos: List[dict]) -> List[dict]:
        """A seeded random ``subset_fraction`` of ``infos`` (in listing order), logged."""
        n = len(infos)
        self.num_listed_images = n
        if self.subset_fraction is None or self.subset_fraction >= 1:
            return infos
        k = max(1, int(round(self.subset_fraction * n)))
        rng = np.random.default_rng(self.subset_seed)
        keep = np.sort(rng.choice(n, size=k, replace=False))
        print_log(f'{type(self).__name__}: random {100 * self.subset_fraction:g}% subset '
                  f'(subset_seed={self.subset_seed}): {k} of {n} listed images',
                  logger='current')
        return [infos[i] for i in keep]

    def load_data_list(self) -> List[dict]:
        name = type(self).__name__
        infos = self._data_infos()
        if not infos:
            raise ValueError(f'{name}: no images found in '
                             f'{self.ann_file or self.img_prefix or "."}')
        infos = self._subset(infos)
        if self.check_files:
            kept = []
            for info in infos:
                if self._exists(info):
                    kept.append(info)
                elif self.missing_images == 'error':
                    raise FileNotFoundError(
                        f'{name}: image {info["img_path"]} does not exist'
                        + (f' (listed in {self.ann_file})' if self.ann_file else '')
                        + "; set missing_images='drop' to drop and count missing images")
                else:
                    self.num_missing_images += 1
            if self.num_missing_images:
                print_log(f'{name}: {self.num_missing_images} of {len(infos)} listed images '
                          'do not exist and were dropped (missing_images="drop")',
                          logger='current', level=logging.WARNING)
            infos = kept
            if not infos:
                raise ValueError(f'{name}: none of the listed images exists')
        lookup = self._landmark_lookup()
        k = self.num_keypoints
        out = []
        for info in infos:
            found = lookup(info) if lookup is not None else None
            if found is None:
                self.num_without_landmarks += 1
                if self.missing_landmarks == 'error' and lookup is not None:
                    raise KeyError(
                        f'{name}: image {info["img_path"]} (key {info["landmark_key"]!r}) has '
                        f'no landmarks in {self.landmark_file or self.landmark_ext}; set '
                        "missing_landmarks='keep' or 'drop'")
                if self.missing_landmarks == 'drop' and lookup is not None:
                    self.num_dropped_without_landmarks += 1
                    continue
                info.update(keypoints=np.zeros((1, k, 2), np.float32),
                            keypoint_scores=np.zeros((1, k), np.float32),
                            keypoints_visible=np.zeros((1, k), np.float32),
                            has_landmarks=False)
            else:
                kpts, scores = found
                visible = ((scores > 0) & (scores >= self.min_landmark_score)
                           ).astype(np.float32)
                info.update(keypoints=np.asarray(kpts, np.float32)[None],
                            keypoint_scores=np.asarray(scores, np.float32)[None],
                            keypoints_visible=visible[None], has_landmarks=True)
            out.append(info)
        if lookup is not None and self.num_without_landmarks:
            what = ('dropped' if self.missing_landmarks == 'drop' else
                    'kept without landmark loss')
            print_log(f'{name}: {self.num_without_landmarks} of {len(infos)} images have no '
                      f'landmarks in {self.landmark_file or "*" + str(self.landmark_ext)}: '
                      f'{what}', logger='current', level=logging.WARNING)
        if not out:
            raise ValueError(f'{name}: no images left after dropping those without landmarks')
        with_lm = sum(bool(info['has_landmarks']) for info in out)
        print_log(f'{name}: {len(out)} images, {with_lm} with landmarks', logger='current')
        return out
