# Copyright (c) mmfer contributors. All rights reserved.
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmfer.registry import TRANSFORMS
from .utils import (check_bgr_image, get_face_keypoints, get_rng, make_rng, randint,
                    set_face_keypoints)
from .warping import STRENGTH_MODES, local_warp, sample_warp_params, warp_points


@TRANSFORMS.register_module()
class RandomLocalWarp(BaseTransform):
    """Random local warping, the paper's RW (ContraWarping §3.2), on an image and its landmarks.

    Applies :func:`~mmfer.datasets.transforms.local_warp` ``num_warps`` times with parameters
    drawn, for a ``ref_size`` (224) image and scaled linearly with the image size, as:

    - centre ``c``: ``U(center_range)`` per axis (``center_mode='random'``, RW*), or a random
      landmark (from ``landmark_indices``, after the previous warps) plus ``U(-j, j)`` jitter
      per axis, ``j = landmark_jitter`` (``center_mode='landmark'``, RW†);
    - step: ``|m - c|² ~ U(step_sq_range)`` in a uniformly random direction;
    - radius ``r ~ U(radius_range)``;
    - strength ``U(strength_range)``, which §4.3 names but Eq. (1) does not contain. With
      ``strength_mode='denominator'`` (default) it enters Eq. (1) as ``K0 = 100 / strength``
      on ``|m - c|²`` in the denominator of ``q``, which keeps ``|m - c|²`` in the stated
      range (the largest displacement, ``q(c) |m - c|`` at the centre, lies in 9.5-13.9 px at
      224 px); with ``'step'`` it multiplies the step length instead (``|m - c|`` 15-42 px,
      largest displacement 12.6-25.8 px). See
      :func:`~mmfer.datasets.transforms.sample_warp_params`.

    The warp folds content near the trailing edge of each circle for small steps (Eq. (1) is
    not one-to-one); landmarks in a fold go to the copy closest to their original position,
    see :func:`~mmfer.datasets.transforms.warp_points`.

    Required keys: ``img`` (H, W, 3); landmarks for ``center_mode='landmark'`` (optional
    otherwise): ``gt_keypoints`` (K, 2) float32, or mmpose-style ``keypoints`` (1, K, 2)
    (+ ``keypoints_visible``, ``has_landmarks``).

    Modified keys: ``img``, the landmarks (moved with :func:`warp_points`, same key/shape).

    Added keys: ``warp_params`` (list of ``(c, m, r, strength)``, each the arguments of
    :func:`~mmfer.datasets.transforms.local_warp` after the image), ``warp_moved`` ((K,) bool, landmark
    moved by more than ``moved_thr`` px in all; only when ``gt_keypoints`` is present).

    Args:
        num_warps (int): Warps applied in sequence. Defaults to 2.
        center_mode (str): ``'random'`` or ``'landmark'``. Defaults to ``'random'``.
        center_range (tuple[float, float]): Centre range per axis at ``ref_size``.
        step_sq_range (tuple[float, float]): Range of ``|m - c|²`` at ``ref_size``.
        radius_range (tuple[float, float]): Radius range at ``ref_size``.
        strength_range (tuple[float, float]): Range of the strength.
        strength_mode (str): How the strength acts: ``'denominator'`` (default) or
            ``'step'``.
        landmark_jitter (float): Half-width of the centre jitter in landmark mode (px at
            ``ref_size``). Defaults to 5.
        landmark_indices (Sequence[int], optional): Landmarks eligible as centres; all if None.
        moved_thr (float): Displacement (px) above which a landmark counts as moved.
        ref_size (float): Image size the ranges refer to. Defaults to 224.
        border_mode (str): Border handling of :func:`local_warp`.
        seed (int, optional): Seed of a private generator; None uses ``np.random``.
    """

    def __init__(self,
                 num_warps: int = 2,
                 center_mode: str = 'random',
                 center_range: Tuple[float, float] = (50., 150.),
                 step_sq_range: Tuple[float, float] = (100., 200.),
                 radius_range: Tuple[float, float] = (50., 80.),
                 strength_range: Tuple[float, float] = (150., 300.),
                 strength_mode: str = 'denominator',
                 landmark_jitter: float = 5.,
                 landmark_indices: Optional[Sequence[int]] = None,
                 moved_thr: float = 0.5,
                 ref_size: float = 224.,
                 border_mode: str = 'replicate',
                 seed: Optional[int] = None) -> None:
        if center_mode not in ('random', 'landmark'):
            raise ValueError(f"center_mode must be 'random' or 'landmark', got {center_mode!r}")
        if int(num_warps) < 0:
            raise ValueError(f'num_warps must be >= 0, got {num_warps}')
        for name, rng in (('center_range', center_range), ('step_sq_range', step_sq_range),
                          ('radius_range', radius_range), ('strength_range', strength_range)):
            if len(rng) != 2 or not 0 <= rng[0] <= rng[1]:
                raise ValueError(f'{name} must be (low, high) with 0 <= low <= high, got {rng}')
        if radius_range[0] <= 0:
            raise ValueError(f'radius_range must be positive, got {radius_range}')
        if strength_range[0] <= 0:
            raise ValueError(f'strength_range must be positive, got {strength_range}')
        if strength_mode not in STRENGTH_MODES:
            raise ValueError(f'strength_mode must be one of {STRENGTH_MODES}, '
                             f'got {strength_mode!r}')
        self.num_warps = int(num_warps)
        self.center_mode = center_mode
        self.center_range = tuple(center_range)
        self.step_sq_range = tuple(step_sq_range)
        self.radius_range = tuple(radius_range)
        self.strength_range = tuple(strength_range)
        self.strength_mode = strength_mode
        self.landmark_jitter = float(landmark_jitter)
        self.landmark_indices = None if landmark_indices is None else list(landmark_indices)
        self.moved_thr = float(moved_thr)
        self.ref_size = float(ref_size)
        self.border_mode = border_mode
        self.seed = seed
        self._rng = make_rng(seed)

    def transform(self, results: dict) -> dict:
        img = check_bgr_image(results, 'RandomLocalWarp')
        kpts, _, key = get_face_keypoints(results, 'RandomLocalWarp')
        if kpts is None and self.center_mode == 'landmark':
            raise KeyError("RandomLocalWarp(center_mode='landmark') needs results['gt_keypoints']"
                           f" (K, 2), but the sample has none (img_path="
                           f"{results.get('img_path')!r}); give the dataset a landmark file or "
                           "use center_mode='random'")
        if self.center_mode == 'landmark':
            idx = self.landmark_indices if self.landmark_indices is not None else \
                list(range(len(kpts)))
            if len(idx) == 0 or max(idx) >= len(kpts):
                raise ValueError(f'RandomLocalWarp: landmark_indices {self.landmark_indices} do '
                                 f'not fit {len(kpts)} keypoints')
        rng = get_rng(self._rng)
        h, w = img.shape[:2]
        scale_x, scale_y = w / self.ref_size, h / self.ref_size
        orig = kpts
        params = []
        for _ in range(self.num_warps):
            center = None
            if self.center_mode == 'landmark':
                j = idx[randint(rng, len(idx))]
                jit = self.landmark_jitter
                center = (float(kpts[j, 0]) + float(rng.uniform(-jit, jit)) * scale_x,
                          float(kpts[j, 1]) + float(rng.uniform(-jit, jit)) * scale_y)
            c, m, r, st = sample_warp_params(rng, (h, w), center, self.center_range,
                                             self.step_sq_range, self.radius_range,
                                             self.strength_range, self.ref_size,
                                             self.strength_mode)
            img = local_warp(img, c, m, r, st, border_mode=self.border_mode)
            if kpts is not None:
                kpts = warp_points(kpts, c, m, r, st)
            params.append((c, m, r, st))
        results['img'] = img
        results['warp_params'] = params
        if kpts is not None:
            set_face_keypoints(results, kpts, key)
            results['warp_moved'] = np.linalg.norm(kpts - orig, axis=1) > self.moved_thr
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_warps={self.num_warps}, '
                f'center_mode={self.center_mode!r}, center_range={self.center_range}, '
                f'step_sq_range={self.step_sq_range}, radius_range={self.radius_range}, '
                f'strength_range={self.strength_range}, '
                f'strength_mode={self.strength_mode!r}, '
                f'landmark_jitter={self.landmark_jitter}, '
                f'landmark_indices={self.landmark_indices}, moved_thr={self.moved_thr}, '
                f'ref_size={self.ref_size}, border_mode={self.border_mode!r}, '
                f'seed={self.seed})')
