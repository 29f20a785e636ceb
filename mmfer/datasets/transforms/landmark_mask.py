# Copyright (c) mmfer contributors. All rights reserved.
"""Landmark-based masking of the eyes or the mouth (SSL-FER §4.1 "Data augmentation")."""
from typing import Dict, Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmfer.registry import TRANSFORMS
from .utils import check_bgr_image, describe, get_face_keypoints, get_rng, make_rng, randint

#: Facial parts of the 68-point iBUG 300-W layout that can be masked (0-based indices).
FACE_PARTS_68: Dict[str, Sequence[int]] = {
    'left_eye': tuple(range(36, 42)),
    'right_eye': tuple(range(42, 48)),
    'mouth': tuple(range(48, 68)),
}


def mask_face_part(img: np.ndarray, kpts: np.ndarray, idx: Sequence[int],
                   margin: float) -> np.ndarray:
    """Cover one facial part with a filled ellipse of the image's mean colour.

    The ellipse is inscribed in the bounding box of ``kpts[idx]`` enlarged by ``margin`` pixels
    on every side.

    Args:
        img (np.ndarray): (H, W, 3) uint8 image.
        kpts (np.ndarray): (68, 2) landmarks (x, y) in pixels of ``img``.
        idx (Sequence[int]): Landmarks of the part.
        margin (float): Enlargement in pixels.

    Returns:
        np.ndarray: A masked copy of ``img``.
    """
    pts = np.asarray(kpts, np.float64)[list(idx)]
    lo, hi = pts.min(0) - margin, pts.max(0) + margin
    centre = tuple(int(round(v)) for v in (lo + hi) / 2)
    axes = tuple(max(1, int(round(v))) for v in (hi - lo) / 2)
    mean = tuple(float(v) for v in img.reshape(-1, img.shape[2]).mean(0))
    out = img.copy()
    cv2.ellipse(out, centre, axes, 0, 0, 360, mean, thickness=-1)
    return out


@TRANSFORMS.register_module()
class RandomLandmarkMask(BaseTransform):
    """With probability ``prob``, hide one facial part (an eye or the mouth) found by landmarks.

    The part is drawn uniformly from ``parts`` (default left eye, right eye, mouth) and covered
    with a filled ellipse of the image's mean colour, inscribed in the part's landmark box
    enlarged by ``margin`` × the image width on every side. SSL-FER (§4.1) lists "landmark-based
    masking (eyes or mouth)" among the augmentations of pre-training and of the downstream
    training, without values; ``prob=0.8``, the three parts, the mean-colour ellipse and a
    10-px margin on 224-px VoxCeleb frames (``margin=10/224``) are those of the authors'
    released code (``imgRandomLandmarkMask``), which draws the part once per process; here it
    is drawn per call.

    Samples without landmarks are left as they are; they are counted (``num_no_landmarks``) and
    logged (first time, then every ``log_interval``).

    Required keys: ``img`` (H, W, 3). Optional: ``gt_keypoints`` (68, 2) or mmpose-style
    ``keypoints`` (1, 68, 2) in the pixels of ``img``.
    Modified keys: ``img``. Added keys: ``masked_part`` (str, or None when nothing was masked).

    Args:
        prob (float): Masking probability. Defaults to 0.8.
        parts (Sequence[str]): Parts to draw from (keys of :data:`FACE_PARTS_68`).
        margin (float): Box enlargement as a fraction of the image width. Defaults to 10/224.
        log_interval (int): Log every n-th sample without landmarks. Defaults to 1000.
        seed (int, optional): Seed of a private generator; None uses ``np.random``.
    """

    def __init__(self, prob: float = 0.8,
                 parts: Sequence[str] = ('left_eye', 'right_eye', 'mouth'),
                 margin: float = 10 / 224, log_interval: int = 1000,
                 seed: Optional[int] = None) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomLandmarkMask: prob must be in [0, 1], got {prob}')
        bad = [p for p in parts if p not in FACE_PARTS_68]
        if bad or not parts:
            raise ValueError(f'RandomLandmarkMask: unknown parts {bad or parts}; known: '
                             f'{sorted(FACE_PARTS_68)}')
        if margin < 0:
            raise ValueError(f'RandomLandmarkMask: margin must be >= 0, got {margin}')
        self.prob = float(prob)
        self.parts = tuple(parts)
        self.margin = float(margin)
        self.log_interval = int(log_interval)
        self.seed = seed
        self._rng = make_rng(seed)
        self.num_masked = 0
        self.num_no_landmarks = 0

    def transform(self, results: dict) -> dict:
        img = check_bgr_image(results, 'RandomLandmarkMask')
        rng = get_rng(self._rng)
        results['masked_part'] = None
        if rng.uniform() >= self.prob:
            return results
        part = self.parts[randint(rng, len(self.parts))]
        kpts, _, _ = get_face_keypoints(results, 'RandomLandmarkMask', num_keypoints=68)
        if kpts is None:
            self.num_no_landmarks += 1
            if self.num_no_landmarks == 1 or self.num_no_landmarks % self.log_interval == 0:
                print_log(f'RandomLandmarkMask: {describe(results)} has no landmarks, not '
                          f'masked; {self.num_no_landmarks} such samples, {self.num_masked} '
                          'masked so far in this worker', logger='current', level=30)
            return results
        results['img'] = mask_face_part(img, kpts, FACE_PARTS_68[part],
                                        self.margin * img.shape[1])
        results['masked_part'] = part
        self.num_masked += 1
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, parts={self.parts}, '
                f'margin={self.margin:.4f}, seed={self.seed})')
