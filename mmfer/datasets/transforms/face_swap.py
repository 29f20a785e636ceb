# Copyright (c) mmfer contributors. All rights reserved.
"""FaceSwap of SSL-FER (Shu et al. 2022, §3.2.2): the positive's expression on another person."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmfer.registry import TRANSFORMS
from .temporal import load_frame
from .utils import check_bgr_image, describe, get_rng, make_rng, randint

#: Inner-face landmarks (eyebrows, nose, eyes, mouth) of the 68-point iBUG 300-W layout.
INNER_FACE_68 = tuple(range(17, 68))


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama) mapping ``src`` (N, 2) onto ``dst`` (N, 2).

    Returns:
        np.ndarray: (2, 3) float64 matrix ``M`` with ``dst ≈ M[:, :2] @ src + M[:, 2]``.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    var = (s0**2).sum() / len(src)
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / var if var > 0 else 0.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = md - scale * rot @ ms
    return m


def _hull_area(pts: np.ndarray) -> float:
    return float(cv2.contourArea(cv2.convexHull(pts.astype(np.float32))))


def swap_expression(src_img: np.ndarray, src_kpts: np.ndarray, dst_img: np.ndarray,
                    dst_kpts: np.ndarray, inner: Sequence[int] = INNER_FACE_68,
                    feather: float = 0.08, min_area_frac: float = 0.01,
                    scale_range: Tuple[float, float] = (0.25, 4.0)
                    ) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Paste the expression region of ``src_img`` onto the face of ``dst_img``.

    1. align: least-squares similarity from ``src_kpts[inner]`` to ``dst_kpts[inner]``;
    2. colour: per-channel mean/std of the aligned source matched to the target inside the
       region, in Lab (std ratio clipped to [0.5, 2]);
    3. blend: inside the convex hull of the aligned inner-face landmarks, with a feathered
       mask (the hull eroded and blurred by ``feather`` × its size).

    Args:
        src_img (np.ndarray): (H, W, 3) expression source (the positive).
        src_kpts (np.ndarray): (68, 2) its landmarks.
        dst_img (np.ndarray): (H', W', 3) identity target (another person).
        dst_kpts (np.ndarray): (68, 2) its landmarks.
        inner (Sequence[int]): Region landmarks. Defaults to 17..67.
        feather (float): Feather width relative to sqrt(hull area). Defaults to 0.08.
        min_area_frac (float): Hulls smaller than this fraction of the image are degenerate.
        scale_range (tuple): Accepted range of the similarity scale.

    Returns:
        tuple | None: ``(img (H', W', 3) uint8, kpts (68, 2) float32)`` - the swapped face and
        its landmarks (the aligned source's inside the region, the target's outside) - or None
        when the landmarks are degenerate (non-finite, tiny hull, implausible scale).
    """
    src_kpts = np.asarray(src_kpts, np.float64)
    dst_kpts = np.asarray(dst_kpts, np.float64)
    inner = list(inner)
    if (src_kpts.shape != dst_kpts.shape or src_kpts.ndim != 2 or src_kpts.shape[1] != 2
            or max(inner) >= len(src_kpts)):
        return None
    if not (np.isfinite(src_kpts).all() and np.isfinite(dst_kpts).all()):
        return None
    h, w = dst_img.shape[:2]
    hs, ws = src_img.shape[:2]
    if (_hull_area(src_kpts[inner]) < min_area_frac * hs * ws
            or _hull_area(dst_kpts[inner]) < min_area_frac * h * w):
        return None
    m = similarity_transform(src_kpts[inner], dst_kpts[inner])
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if not scale_range[0] <= scale <= scale_range[1]:
        return None
    warped = cv2.warpAffine(src_img, m, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT_101)
    wk = src_kpts @ m[:, :2].T + m[:, 2]
    hull = cv2.convexHull(np.round(wk[inner]).astype(np.int32))
    hard = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(hard, hull, 255)
    region = hard > 0
    if region.sum() < 16:
        return None
    size = np.sqrt(region.sum())
    k = max(1, int(round(feather * size)))
    soft = cv2.erode(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    soft = cv2.GaussianBlur(soft.astype(np.float32) / 255., (0, 0), sigmaX=k / 2 + 0.5)
    # colour correction in Lab (float, L in [0, 100])
    src_lab = cv2.cvtColor(warped.astype(np.float32) / 255., cv2.COLOR_BGR2Lab)
    dst_lab = cv2.cvtColor(dst_img.astype(np.float32) / 255., cv2.COLOR_BGR2Lab)
    ms, ss = src_lab[region].mean(0), src_lab[region].std(0) + 1e-3
    md, sd = dst_lab[region].mean(0), dst_lab[region].std(0) + 1e-3
    # std ratio clipped: a flat source region must not blow up noise and edges
    corr_lab = (src_lab - ms) * np.clip(sd / ss, 0.5, 2.0) + md
    corr = cv2.cvtColor(corr_lab.astype(np.float32), cv2.COLOR_Lab2BGR) * 255.
    alpha = soft[..., None]
    out = dst_img.astype(np.float32) * (1 - alpha) + corr * alpha
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    kpts = dst_kpts.copy()
    kpts[inner] = wk[inner]
    return out, kpts.astype(np.float32)


def other_identity_positions(results: dict, owner: str,
                             with_keypoints: bool = True) -> np.ndarray:
    """Positions in ``results['frame_index']`` of the frames of every *other* identity.

    Args:
        results (dict): Needs ``frame_index`` and ``identity`` (or ``frame_pos``).
        owner (str): Transform name for error messages.
        with_keypoints (bool): Only frames with landmarks. Defaults to True.

    Returns:
        np.ndarray: (M,) int positions (empty when there is no other identity).
    """
    index = results.get('frame_index')
    if index is None:
        raise KeyError(f'{owner} needs results["frame_index"] from a video-frame dataset such '
                       f'as VoxCelebFrames ({describe(results)})')
    ident = int(results.get('identity', index.identity[results['frame_pos']]))
    keep = index.identity != ident
    if with_keypoints:
        keep &= index.has_keypoints
    return np.flatnonzero(keep)


def swap_flag_key(role: str, flag: str) -> str:
    """Top-level flag name of a view swap: ``flag`` for the positive, ``<role>_<flag>`` else."""
    return flag if role == 'positive' else f'{role}_{flag}'


@TRANSFORMS.register_module()
class FaceSwap(BaseTransform):
    """With probability ``prob``, put the ``role`` view's expression on another identity's face.

    The other face is a random frame, with landmarks, of a random *other* identity drawn from
    ``results['frame_index']`` (see :class:`VoxCelebFrames`); the swap is
    :func:`swap_expression` (similarity alignment on landmarks, Lab mean/std colour transfer,
    feathered blend inside the inner-face convex hull). When the view or the other face has no
    landmarks, there is no other identity, or the landmarks are degenerate, the view is left
    as it is and the fallback is counted (``num_fallback``) and logged (first time, then every
    ``log_interval``).

    Required keys: ``frame_index``, ``identity``, ``views[role]`` with ``img`` and
    (for a swap) ``gt_keypoints`` (68, 2). Modified: ``views[role]['img']``,
    ``views[role]['gt_keypoints']``. Added: ``face_swapped`` (bool; ``<role>_face_swapped``
    for a role other than ``'positive'``), ``views[role]['swap_identity']`` (int, -1 without
    swap), ``views[role]['swap_img_path']``. A missing hard negative's placeholder view
    (``img_path`` None, made by ``HardNeg`` / ``TimeAug``) is left alone and not counted.

    Args:
        prob (float): Swap probability. Defaults to 0.5 (§3.2.2: "we performed on 50% of the
            positive images").
        role (str): The view to swap: ``'positive'`` (default) or ``'hardneg_positive'``.
        max_tries (int): Draws of another face with landmarks before falling back.
        log_interval (int): Log every n-th fallback.
        backend_args (dict, optional): File backend of the frames.
        seed (int, optional): Seed of a private generator; None uses ``np.random``.
        **swap_kwargs: Passed to :func:`swap_expression`.
    """

    def __init__(self, prob: float = 0.5, role: str = 'positive', max_tries: int = 10,
                 log_interval: int = 1000, backend_args: Optional[dict] = None,
                 seed: Optional[int] = None, **swap_kwargs) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = float(prob)
        self.role = role
        self.max_tries = int(max_tries)
        self.log_interval = int(log_interval)
        self.backend_args = backend_args
        self.swap_kwargs = swap_kwargs
        self.seed = seed
        self._rng = make_rng(seed)
        self.num_swapped = 0
        self.num_fallback = 0

    def _fallback(self, results: dict, view: dict, why: str) -> dict:
        self.num_fallback += 1
        if self.num_fallback == 1 or self.num_fallback % self.log_interval == 0:
            print_log(f'FaceSwap: no swap for {describe(results)} ({why}); '
                      f'{self.num_fallback} fallbacks, {self.num_swapped} swaps so far in this '
                      'worker', logger='current', level=30)
        results[self.flag_key] = False
        view['swap_identity'] = -1
        view['swap_img_path'] = None
        return results

    @property
    def flag_key(self) -> str:
        return swap_flag_key(self.role, 'face_swapped')

    def transform(self, results: dict) -> dict:
        view = results.get('views', {}).get(self.role)
        if view is None or view.get('img') is None:
            raise KeyError(f'FaceSwap: no view {self.role!r} ({describe(results)}); put '
                           'TimeAug before FaceSwap')
        check_bgr_image(view, f'FaceSwap (view {self.role!r} of {describe(results)})')
        kp = view.get('gt_keypoints')
        if kp is not None and np.shape(kp) != (68, 2):
            raise ValueError(f'FaceSwap: view {self.role!r} gt_keypoints must have shape '
                             f'(68, 2), got {np.shape(kp)} ({describe(results)})')
        cand = other_identity_positions(results, 'FaceSwap')
        index = results['frame_index']
        rng = get_rng(self._rng)
        results[self.flag_key] = False
        view['swap_identity'] = -1
        view['swap_img_path'] = None
        if view.get('img_path', '') is None or rng.uniform() >= self.prob:
            return results
        if view.get('gt_keypoints') is None:
            return self._fallback(results, view, 'the view has no landmarks')
        if len(cand) == 0:
            return self._fallback(results, view, 'no other identity with landmarks')
        for _ in range(self.max_tries):
            pos = int(cand[randint(rng, len(cand))])
            other = load_frame(index, pos, self.backend_args)
            out = swap_expression(view['img'], view['gt_keypoints'], other['img'],
                                  other['gt_keypoints'], **self.swap_kwargs)
            if out is not None:
                break
        if out is None:
            return self._fallback(results, view, 'degenerate landmarks')
        view['img'], view['gt_keypoints'] = out
        view['img_shape'] = out[0].shape[:2]
        view['swap_identity'] = int(index.identity[pos])
        view['swap_img_path'] = other['img_path']
        results[self.flag_key] = True
        self.num_swapped += 1
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, role={self.role!r}, '
                f'max_tries={self.max_tries}, seed={self.seed}, swap_kwargs={self.swap_kwargs})')
