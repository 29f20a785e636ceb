# Copyright (c) mmfer contributors. All rights reserved.
"""The CutMix control of SSL-FER's FaceSwap (Shu et al. 2022, Table 1 row (c), §4.4)."""
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmfer.registry import TRANSFORMS
from .face_swap import other_identity_positions, swap_flag_key
from .temporal import load_frame
from .utils import check_bgr_image, describe, get_rng, make_rng, randint


def center_cutmix(src: np.ndarray, dst: np.ndarray, area_ratio: float) -> np.ndarray:
    """Paste the centre patch of ``src`` into the centre of ``dst``.

    The patch covers ``area_ratio`` of the image (sides ``round(W √r)`` × ``round(H √r)``,
    centred); ``dst`` is first resized to ``src``'s size.

    Args:
        src (np.ndarray): (H, W, 3) image giving the centre patch.
        dst (np.ndarray): (H', W', 3) image giving the surround.
        area_ratio (float): Patch area / image area, in [0, 1].

    Returns:
        np.ndarray: (H, W, 3) mixed image.
    """
    h, w = src.shape[:2]
    out = dst if dst.shape[:2] == (h, w) else cv2.resize(dst, (w, h),
                                                          interpolation=cv2.INTER_LINEAR)
    out = out.copy()
    ph, pw = int(round(h * np.sqrt(area_ratio))), int(round(w * np.sqrt(area_ratio)))
    y0, x0 = (h - ph) // 2, (w - pw) // 2
    out[y0:y0 + ph, x0:x0 + pw] = src[y0:y0 + ph, x0:x0 + pw]
    return out


@TRANSFORMS.register_module()
class CenterCutMix(BaseTransform):
    """With probability ``prob``, put the ``role`` view's centre patch on another person's frame.

    SSL-FER's control for FaceSwap (Table 1 row (c)): "we also trained with CutMix [43] ... by
    only cutting and mixing the centre patch of the images" (§4.4). Like :class:`FaceSwap`, the
    other image is a random frame of a random *other* identity of ``results['frame_index']``,
    and the result keeps the positive's expression region (here: the centre patch, where the
    face of an aligned face crop is) on another person. The patch area is CutMix's
    ``1 - λ`` with ``λ ~ Beta(1, 1)``, i.e. uniform on ``area_range``; the paper gives no size.
    The view keeps its own landmarks (those of the face in the patch).

    Required keys: ``frame_index``, ``identity``, ``views[role]['img']``. Modified:
    ``views[role]['img']``. Added: ``cutmixed`` (bool; ``<role>_cutmixed`` for a role other than
    ``'positive'``), ``views[role]['swap_identity']`` (-1 without mix),
    ``views[role]['swap_img_path']``, ``views[role]['mix_ratio']`` (patch area ratio, 0 without
    mix). A missing hard negative's placeholder view (``img_path`` None) is left alone.

    Args:
        prob (float): Mixing probability. Defaults to 0.5 (FaceSwap's, whose control this is).
        role (str): The view to mix: ``'positive'`` (default) or ``'hardneg_positive'``.
        area_range (tuple[float, float]): Range of the patch area ratio. Defaults to (0, 1).
        backend_args (dict, optional): File backend of the frames.
        seed (int, optional): Seed of a private generator; None uses ``np.random``.
    """

    def __init__(self, prob: float = 0.5, role: str = 'positive',
                 area_range: Tuple[float, float] = (0., 1.),
                 backend_args: Optional[dict] = None, seed: Optional[int] = None) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'CenterCutMix: prob must be in [0, 1], got {prob}')
        lo, hi = (float(v) for v in area_range)
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f'CenterCutMix: area_range must satisfy 0 <= lo <= hi <= 1, '
                             f'got {area_range}')
        self.prob = float(prob)
        self.role = role
        self.area_range = (lo, hi)
        self.backend_args = backend_args
        self.seed = seed
        self._rng = make_rng(seed)
        self.num_mixed = 0

    @property
    def flag_key(self) -> str:
        return swap_flag_key(self.role, 'cutmixed')

    def transform(self, results: dict) -> dict:
        view = results.get('views', {}).get(self.role)
        if view is None or view.get('img') is None:
            raise KeyError(f'CenterCutMix: no view {self.role!r} ({describe(results)}); put '
                           'TimeAug before CenterCutMix')
        img = check_bgr_image(view, f'CenterCutMix (view {self.role!r} of '
                                    f'{describe(results)})')
        cand = other_identity_positions(results, 'CenterCutMix', with_keypoints=False)
        rng = get_rng(self._rng)
        results[self.flag_key] = False
        view['swap_identity'] = -1
        view['swap_img_path'] = None
        view['mix_ratio'] = 0.
        if view.get('img_path', '') is None or rng.uniform() >= self.prob:
            return results
        if len(cand) == 0:
            raise ValueError(f'CenterCutMix: the dataset has no identity other than the one of '
                             f'{describe(results)}; CutMix needs at least two identities')
        index = results['frame_index']
        pos = int(cand[randint(rng, len(cand))])
        other = load_frame(index, pos, self.backend_args)
        ratio = float(rng.uniform(*self.area_range))
        view['img'] = center_cutmix(img, other['img'], ratio)
        view['swap_identity'] = int(index.identity[pos])
        view['swap_img_path'] = other['img_path']
        view['mix_ratio'] = ratio
        results[self.flag_key] = True
        self.num_mixed += 1
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, role={self.role!r}, '
                f'area_range={self.area_range}, seed={self.seed})')
