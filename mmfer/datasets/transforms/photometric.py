# Copyright (c) mmfer contributors. All rights reserved.
"""mmpretrain's ``ColorJitter`` with a hue shift that works under numpy >= 2.

``mmcv.adjust_hue`` (mmcv 2.0.x) computes ``np.uint8(hue_factor * 255)``, which numpy 2 refuses
for a negative factor (``OverflowError``), so every BYOL-style pipeline with ``hue=0.1`` fails
half of the time. This subclass, registered under its own name ``SafeColorJitter`` (so
``type='ColorJitter'`` keeps meaning mmpretrain's), does the same uint8 wrap-around shift of the
hue channel with integer arithmetic.
"""
import cv2
import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter as _MMPretrainColorJitter
from PIL import Image

from mmfer.registry import TRANSFORMS


def adjust_hue(img: np.ndarray, hue_factor: float, backend: str = 'cv2') -> np.ndarray:
    """Shift the hue of a BGR uint8 image by ``hue_factor`` of a full turn.

    Same result as ``mmcv.adjust_hue`` under numpy 1 (shift ``int(hue_factor * 255)`` modulo
    256 of the 8-bit hue channel), without its numpy 2 overflow.

    Args:
        img (np.ndarray): (H, W, 3) BGR image.
        hue_factor (float): In [-0.5, 0.5].
        backend (str): ``'cv2'`` or ``'pillow'`` (the HSV conversion used).

    Returns:
        np.ndarray: The hue-shifted image, same dtype.
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5]')
    shift = int(hue_factor * 255) % 256
    if backend == 'pillow':
        pil = Image.fromarray(np.ascontiguousarray(img[..., ::-1]), mode='RGB')
        h, s, v = pil.convert('HSV').split()
        np_h = ((np.array(h, dtype=np.uint16) + shift) % 256).astype(np.uint8)
        out = Image.merge('HSV', (Image.fromarray(np_h, 'L'), s, v)).convert('RGB')
        return np.array(out, dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] = ((hsv[..., 0].astype(np.uint16) + shift) % 256).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


@TRANSFORMS.register_module()
class SafeColorJitter(_MMPretrainColorJitter):
    """mmpretrain's ``ColorJitter`` (same arguments and randomness) with a numpy-2-safe hue.

    See :class:`mmpretrain.datasets.transforms.ColorJitter` for the arguments.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        trans_inds, brightness, contrast, saturation, hue = self._rand_params()
        for index in trans_inds:
            if index == 0 and brightness is not None:
                img = mmcv.adjust_brightness(img, brightness, backend=self.backend)
            elif index == 1 and contrast is not None:
                img = mmcv.adjust_contrast(img, contrast, backend=self.backend)
            elif index == 2 and saturation is not None:
                img = mmcv.adjust_color(img, alpha=saturation, backend=self.backend)
            elif index == 3 and hue is not None:
                img = adjust_hue(img, hue, backend=self.backend)
        results['img'] = img
        return results
