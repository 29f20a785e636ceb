# Copyright (c) mmfer contributors. All rights reserved.
"""Shared helpers of mmfer's face transforms: input checks, randomness, 68-point flip pairs."""
from typing import Any, List, Optional, Tuple, Union

import numpy as np

#: Left/right pairs of the 68 iBUG 300-W landmarks (0-based), swapped by a horizontal flip.
FLIP_PAIRS_68: Tuple[Tuple[int, int], ...] = (
    *((i, 16 - i) for i in range(8)),  # jaw
    (17, 26), (18, 25), (19, 24), (20, 23), (21, 22),  # eyebrows
    (31, 35), (32, 34),  # nostrils
    (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),  # eyes
    (48, 54), (49, 53), (50, 52), (55, 59), (56, 58),  # outer lips
    (60, 64), (61, 63), (65, 67),  # inner lips
)


def flip_indices(num_keypoints: int = 68) -> np.ndarray:
    """Index array ``idx`` such that ``kpts[idx]`` relabels horizontally flipped landmarks.

    Args:
        num_keypoints (int): Only 68 (iBUG 300-W) is known.

    Returns:
        np.ndarray: (K,) int64 permutation.
    """
    if num_keypoints != 68:
        raise ValueError(f'flip pairs are defined for 68 iBUG 300-W landmarks only, '
                         f'got {num_keypoints} keypoints')
    idx = np.arange(68)
    for a, b in FLIP_PAIRS_68:
        idx[a], idx[b] = b, a
    return idx


RNG = Union[np.random.Generator, np.random.RandomState]


def make_rng(seed: Optional[int]) -> Optional[np.random.Generator]:
    """A private generator for ``seed``; None means "use numpy's global state".

    Without a seed, transforms draw from ``np.random`` (seeded per dataloader worker by
    mmengine's ``randomness`` config, as mmcv/mmpretrain transforms do); with a seed, each
    transform owns a generator, so a run is reproducible transform by transform.
    """
    return None if seed is None else np.random.default_rng(seed)


def get_rng(rng: Optional[np.random.Generator]) -> RNG:
    """The generator itself, or numpy's global ``RandomState`` when ``rng`` is None."""
    return np.random.mtrand._rand if rng is None else rng


def randint(rng: RNG, high: int) -> int:
    """Uniform integer in ``[0, high)`` from either a Generator or a RandomState."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(high))
    return int(rng.randint(high))


def describe(results: dict) -> str:
    """Short sample identification for error messages."""
    for key in ('img_path', 'sample_idx'):
        if results.get(key) is not None:
            return f'{key}={results[key]!r}'
    return 'sample without img_path'


def check_bgr_image(results: dict, owner: str, key: str = 'img') -> np.ndarray:
    """Return ``results[key]``, raising a clear error unless it is an (H, W, 3) array."""
    img = results.get(key)
    if img is None:
        raise KeyError(f'{owner}: results has no {key!r} ({describe(results)}); '
                       'load the image first (e.g. LoadFaceImage)')
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
        shape = getattr(img, 'shape', None)
        raise ValueError(f'{owner}: {key!r} must be an (H, W, 3) BGR image, got shape {shape} '
                         f'({describe(results)}); load with color_type="color" and do not '
                         'apply single-channel transforms before this one')
    return img


def check_keypoints(kpts: Any, owner: str, results: dict,
                    num_keypoints: Optional[int] = None) -> np.ndarray:
    """Validate ``gt_keypoints``: a finite (K, 2) array (K = ``num_keypoints`` if given)."""
    arr = np.asarray(kpts, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != 2 or (num_keypoints is not None
                                              and arr.shape[0] != num_keypoints):
        want = f'({num_keypoints}, 2)' if num_keypoints is not None else '(K, 2)'
        raise ValueError(f'{owner}: gt_keypoints must have shape {want}, got {arr.shape} '
                         f'({describe(results)})')
    if not np.isfinite(arr).all():
        raise ValueError(f'{owner}: gt_keypoints has non-finite values ({describe(results)})')
    return arr


def to_list(x: Any) -> List:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def get_face_keypoints(results: dict, owner: str, num_keypoints: Optional[int] = None
                       ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[str]]:
    """Read one face's landmarks from either convention used by mmfer datasets.

    - ``gt_keypoints`` (K, 2) (``LoadFaceImage`` + dataset keypoints, e.g.
      :class:`~mmfer.datasets.VoxCelebFrames`);
    - mmpose style ``keypoints`` (1, K, 2) with ``keypoints_visible`` (1, K) and
      ``has_landmarks`` (e.g. ``FaceFolderDataset``).

    Returns:
        tuple: ``(kpts (K, 2) float32 | None, visible (K,) float32 | None, key | None)``;
        None when the sample has no landmarks.
    """
    if results.get('gt_keypoints') is not None:
        return check_keypoints(results['gt_keypoints'], owner, results, num_keypoints), \
            None, 'gt_keypoints'
    if results.get('keypoints') is not None:
        if results.get('has_landmarks') is False:
            return None, None, None
        arr = np.asarray(results['keypoints'], dtype=np.float32)
        if arr.ndim != 3 or arr.shape[0] != 1:
            raise ValueError(f'{owner}: keypoints must have shape (1, K, 2) (one face), got '
                             f'{arr.shape} ({describe(results)})')
        kpts = check_keypoints(arr[0], owner, results, num_keypoints)
        vis = results.get('keypoints_visible')
        vis = (np.ones(len(kpts), np.float32) if vis is None
               else np.asarray(vis, np.float32).reshape(-1))
        if vis.shape != (len(kpts), ):
            raise ValueError(f'{owner}: keypoints_visible must have shape (1, {len(kpts)}), '
                             f'got {np.shape(results.get("keypoints_visible"))} '
                             f'({describe(results)})')
        if not (vis > 0).any():
            return None, None, None
        return kpts, vis, 'keypoints'
    return None, None, None


def set_face_keypoints(results: dict, kpts: np.ndarray, key: Optional[str]) -> None:
    """Write landmarks back under the key (and shape) :func:`get_face_keypoints` read."""
    if key == 'keypoints':
        results['keypoints'] = kpts[None].astype(np.float32)
    else:
        results['gt_keypoints'] = kpts.astype(np.float32)
