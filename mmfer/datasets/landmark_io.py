# Copyright (c) mmfer contributors. All rights reserved.
"""The landmark file format shared by the landmark tool, the datasets and the generators.

A landmark file is a ``.npz`` archive with three arrays of the same length N:

- ``img_paths``: str array (N,), image paths relative to the dataset's ``data_root``
  (POSIX separators), unique;
- ``keypoints``: float32 (N, K, 2), (x, y) in pixels of the image as stored on disk
  (x = column, y = row, pixel centres at integers), K = 68 in iBUG 300-W order;
- ``keypoint_scores``: float32 (N, K), the detector's confidence (1.0 for exact landmarks).
"""
import os.path as osp
import zipfile
import zlib
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

from mmfer.utils.atomic_io import atomic_open

NUM_FACE_LANDMARKS = 68


def save_landmarks(path: str, img_paths: Sequence[str], keypoints: np.ndarray,
                   keypoint_scores: Optional[np.ndarray] = None) -> None:
    """Write a landmark file atomically (:func:`mmfer.utils.atomic_open`: temporary file +
    rename, mode ``0o666 & ~umask``).

    Args:
        path (str): Output ``.npz`` path.
        img_paths (Sequence[str]): N image paths relative to the data root.
        keypoints (np.ndarray): (N, K, 2) landmarks in pixels.
        keypoint_scores (np.ndarray, optional): (N, K) scores; ones when omitted.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    n = len(img_paths)
    if keypoints.ndim != 3 or keypoints.shape[0] != n or keypoints.shape[2] != 2:
        raise ValueError(f'{path}: keypoints must be (N={n}, K, 2), got {keypoints.shape}')
    if keypoint_scores is None:
        keypoint_scores = np.ones(keypoints.shape[:2], dtype=np.float32)
    keypoint_scores = np.asarray(keypoint_scores, dtype=np.float32)
    if keypoint_scores.shape != keypoints.shape[:2]:
        raise ValueError(f'{path}: keypoint_scores must be {keypoints.shape[:2]}, '
                         f'got {keypoint_scores.shape}')
    with atomic_open(path) as f:
        np.savez(f, img_paths=np.asarray(list(img_paths), dtype=str),
                 keypoints=keypoints, keypoint_scores=keypoint_scores)


#: Errors numpy / zipfile raise on damaged archives (reading the directory or a member).
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


@contextmanager
def _open_npz(path: str) -> Iterator[np.lib.npyio.NpzFile]:
    """``np.load(path, allow_pickle=False)`` with errors that name the file and the defect."""
    what = f'landmark file {path}'
    with open(path, 'rb') as f:
        head = f.read(6)
    if not head:
        raise ValueError(f'{what} is an empty file (0 bytes): it was not written completely')
    if head.startswith(b'\x93NUMPY'):
        raise ValueError(f'{what} is a single .npy array, not a .npz archive with img_paths, '
                         'keypoints and keypoint_scores (mmfer.datasets.save_landmarks)')
    if not head.startswith(b'PK'):
        raise ValueError(f'{what} is not a .npz archive (no zip header; it starts with '
                         f'{head!r}); write it with mmfer.datasets.save_landmarks')
    try:
        data = np.load(path, allow_pickle=False)
    except _DAMAGED as e:
        raise ValueError(f'{what} is truncated or corrupt ({osp.getsize(path)} bytes; '
                         f'{type(e).__name__}: {e})') from e
    with data:
        yield data


def _read_array(data, name: str, path: str) -> np.ndarray:
    try:
        return data[name]
    except ValueError as e:
        if 'allow_pickle' in str(e):
            raise ValueError(
                f'landmark file {path}: array {name!r} holds Python objects (pickled); mmfer '
                'refuses pickled arrays (allow_pickle=False): save strings and numbers, e.g. '
                'np.asarray(paths, dtype=str), or use mmfer.datasets.save_landmarks') from e
        raise ValueError(f'landmark file {path} is truncated or corrupt (array {name!r}: '
                         f'{e})') from e
    except _DAMAGED as e:
        raise ValueError(f'landmark file {path} is truncated or corrupt (array {name!r}: '
                         f'{type(e).__name__}: {e})') from e


def load_landmarks(path: str, num_keypoints: Optional[int] = NUM_FACE_LANDMARKS
                   ) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Read a landmark file into ``{img_path: (keypoints (K, 2), scores (K,))}``.

    Args:
        path (str): The ``.npz`` file.
        num_keypoints (int, optional): Expected K; None accepts any.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: an empty, truncated, corrupt or non-npz file, pickled (object) arrays,
            missing arrays, inconsistent lengths, wrong K, non-finite values or duplicated
            paths; the message names the file and the defect (or the first offending entry).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'landmark file {path} does not exist')
    with _open_npz(path) as data:
        missing = {'img_paths', 'keypoints'} - set(data.files)
        if missing:
            raise ValueError(f'{path}: missing arrays {sorted(missing)} '
                             f'(has {sorted(data.files)})')
        img_paths = [str(p) for p in _read_array(data, 'img_paths', path)]
        kpts = _read_array(data, 'keypoints', path).astype(np.float32)
        scores = (_read_array(data, 'keypoint_scores', path).astype(np.float32)
                  if 'keypoint_scores' in data.files
                  else np.ones(kpts.shape[:2], dtype=np.float32))
    n = len(img_paths)
    if kpts.ndim != 3 or kpts.shape[0] != n or kpts.shape[2] != 2:
        raise ValueError(f'{path}: keypoints must be (N={n}, K, 2), got {kpts.shape}')
    if num_keypoints is not None and kpts.shape[1] != num_keypoints:
        raise ValueError(f'{path}: expected {num_keypoints} landmarks per image, '
                         f'got {kpts.shape[1]}')
    if scores.shape != kpts.shape[:2]:
        raise ValueError(f'{path}: keypoint_scores must be {kpts.shape[:2]}, got {scores.shape}')
    bad = ~np.isfinite(kpts).all(axis=(1, 2))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f'{path}: non-finite landmarks for {img_paths[i]} '
                         f'(entry {i}; {int(bad.sum())} entries in all)')
    out: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    for i, p in enumerate(img_paths):
        if p in out:
            raise ValueError(f'{path}: duplicated image path {p} (entry {i})')
        out[p] = (kpts[i], scores[i])
    return out
