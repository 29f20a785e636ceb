# Copyright (c) mmfer contributors. All rights reserved.
"""Landmark-aware geometric transforms for faces (pixel centres at integers).

mmcv's ``Resize`` and ``RandomFlip`` move ``gt_keypoints`` with ``x * s`` and ``W - x`` and do
not swap left/right landmark labels; for 68-point faces (K, 2) these transforms use the exact
pixel-centre maps ``(x + 0.5) * s - 0.5`` and ``W - 1 - x`` and relabel flipped landmarks with
the iBUG 300-W flip pairs.
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmfer.registry import TRANSFORMS
from .utils import (check_bgr_image, flip_indices, get_face_keypoints, get_rng, make_rng,
                    randint, set_face_keypoints)

_INTERP = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
}


@TRANSFORMS.register_module()
class FaceResize(BaseTransform):
    """Resize a face image to a fixed size and move its landmarks.

    Required keys: ``img`` (H, W, 3). Optional: ``gt_keypoints`` (K, 2) or mmpose-style
    ``keypoints`` (1, K, 2).

    Modified keys: ``img``, ``img_shape``, ``gt_keypoints``. Added: ``scale_factor`` (sx, sy).

    Args:
        scale (int | tuple[int, int]): Output (w, h); an int means square.
        interpolation (str): ``'nearest'``, ``'bilinear'`` (default), ``'bicubic'`` or
            ``'area'``.
    """

    def __init__(self, scale: Union[int, Tuple[int, int]],
                 interpolation: str = 'bilinear') -> None:
        scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'scale must be a positive int or (w, h), got {scale}')
        if interpolation not in _INTERP:
            raise ValueError(f'interpolation must be one of {sorted(_INTERP)}, '
                             f'got {interpolation!r}')
        self.scale = (int(scale[0]), int(scale[1]))
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = check_bgr_image(results, 'FaceResize')
        h, w = img.shape[:2]
        ow, oh = self.scale
        sx, sy = ow / w, oh / h
        if (ow, oh) != (w, h):
            img = cv2.resize(img, (ow, oh), interpolation=_INTERP[self.interpolation])
        results['img'] = img
        results['img_shape'] = (oh, ow)
        results['scale_factor'] = (sx, sy)
        k, _, key = get_face_keypoints(results, 'FaceResize')
        if k is not None:
            set_face_keypoints(results, (k + 0.5) * np.array([sx, sy], np.float32) - 0.5, key)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class FaceRandomFlip(BaseTransform):
    """Horizontally flip a face with probability ``prob``, relabelling left/right landmarks.

    Required keys: ``img`` (H, W, 3). Optional: ``gt_keypoints`` (K, 2) (K = 68 unless
    ``flip_indices`` is given).

    Modified keys: ``img``, ``gt_keypoints`` (``x -> W - 1 - x``, then ``kpts[flip_indices]``).
    Added keys: ``flip`` (bool), ``flip_direction`` (``'horizontal'`` or None).

    Args:
        prob (float): Flip probability. Defaults to 0.5.
        flip_indices (Sequence[int], optional): Landmark relabelling after a flip; the 68-point
            iBUG 300-W pairs when None.
        seed (int, optional): Seed of a private generator; None uses ``np.random``.
    """

    def __init__(self, prob: float = 0.5, flip_indices: Optional[Sequence[int]] = None,
                 seed: Optional[int] = None) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = float(prob)
        self.flip_indices = None if flip_indices is None else [int(i) for i in flip_indices]
        self.seed = seed
        self._rng = make_rng(seed)

    def transform(self, results: dict) -> dict:
        img = check_bgr_image(results, 'FaceRandomFlip')
        kpts, _, key = get_face_keypoints(results, 'FaceRandomFlip')
        if kpts is not None:
            idx = (np.asarray(self.flip_indices) if self.flip_indices is not None
                   else flip_indices(len(kpts)) if len(kpts) == 68 else None)
            if idx is None or len(idx) != len(kpts):
                raise ValueError(f'FaceRandomFlip: no flip indices for {len(kpts)} keypoints '
                                 f'(img_path={results.get("img_path")!r}); pass flip_indices')
        flip = bool(get_rng(self._rng).uniform() < self.prob)
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if flip:
            results['img'] = np.ascontiguousarray(img[:, ::-1])
            if kpts is not None:
                w = img.shape[1]
                k = kpts.copy()
                k[:, 0] = (w - 1) - k[:, 0]
                set_face_keypoints(results, k[idx], key)
                if results.get('keypoints_visible') is not None:
                    vis = np.asarray(results['keypoints_visible'])
                    results['keypoints_visible'] = vis.reshape(1, -1)[:, idx].reshape(vis.shape)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'flip_indices={self.flip_indices}, seed={self.seed})')


@TRANSFORMS.register_module()
class FaceRandomCrop(BaseTransform):
    """Crop a random ``crop_size`` window of a face and move its landmarks with it.

    mmpretrain's ``RandomCrop`` crops the image only; this is the same uniform random crop
    (the offset is drawn uniformly over every position where the window fits) that also
    shifts ``gt_keypoints`` / ``keypoints`` by the offset, so landmark-based steps after it
    (SSL-FER MaskFN's eye/mouth crops) still find the eyes and mouth.

    Required keys: ``img`` (H, W, 3) with H, W >= the crop. Optional: ``gt_keypoints``
    (K, 2) or ``keypoints`` (1, K, 2).

    Modified keys: ``img``, ``img_shape``, the landmarks (``x - x0``, ``y - y0``; points
    that leave the window keep their out-of-image coordinates). Added: ``crop_bbox``
    (x0, y0, x1, y1), end-exclusive.

    Args:
        crop_size (int | tuple[int, int]): Output (w, h); an int means square.
        seed (int, optional): Seed of a private generator; None uses ``np.random``.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]],
                 seed: Optional[int] = None) -> None:
        size = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f'crop_size must be a positive int or (w, h), got {crop_size}')
        self.crop_size = (int(size[0]), int(size[1]))
        self.seed = seed
        self._rng = make_rng(seed)

    def transform(self, results: dict) -> dict:
        img = check_bgr_image(results, 'FaceRandomCrop')
        h, w = img.shape[:2]
        cw, ch = self.crop_size
        if cw > w or ch > h:
            raise ValueError(f'FaceRandomCrop: crop {cw}x{ch} is larger than the image '
                             f'{w}x{h} (img_path={results.get("img_path")!r}); resize first')
        rng = get_rng(self._rng)
        x0, y0 = randint(rng, w - cw + 1), randint(rng, h - ch + 1)
        results['img'] = np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])
        results['img_shape'] = (ch, cw)
        results['crop_bbox'] = (x0, y0, x0 + cw, y0 + ch)
        k, _, key = get_face_keypoints(results, 'FaceRandomCrop')
        if k is not None:
            set_face_keypoints(results, k - np.array([x0, y0], np.float32), key)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size}, seed={self.seed})'
