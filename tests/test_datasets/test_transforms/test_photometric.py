# Copyright (c) mmfer contributors. All rights reserved.
"""SafeColorJitter's array implementation of Pillow's colour operations is the same transform.

Every function is compared with what mmpretrain's ``ColorJitter`` (``backend='pillow'``) runs:
mmcv's ``adjust_*`` through PIL images. The HSV conversions are compared with PIL's on a large
grid of all-channel combinations (every tie, every grey, the extremes).
"""
import warnings

import mmcv
import numpy as np
import pytest
from mmpretrain.datasets.transforms import ColorJitter
from PIL import Image

from mmfer.datasets.transforms import SafeColorJitter, adjust_hue
from mmfer.datasets.transforms.photometric import (pil_adjust_brightness, pil_adjust_color,
                                                   pil_adjust_contrast, pil_adjust_hue,
                                                   pil_adjust_hue_reference, pil_hsv_to_bgr,
                                                   pil_luma, pil_rgb_to_hsv)

# 0, 1, 2, 127, 128, 254, 255 and every 5th level: all ties, greys and extremes
LEVELS = np.unique(np.r_[0, 1, 2, 127, 128, 254, 255, np.arange(0, 256, 5)]).astype(np.uint8)


def _grid(levels_a, levels_b, levels_c) -> np.ndarray:
    """(N, 1, 3) uint8 image of every (a, b, c) combination."""
    a, b, c = np.meshgrid(levels_a, levels_b, levels_c, indexing='ij')
    return np.stack([a, b, c], -1).reshape(-1, 1, 3).astype(np.uint8)


def test_rgb_to_hsv_and_luma_equal_pillow():
    rgb = np.concatenate([_grid(np.arange(256), LEVELS, LEVELS),
                          _grid(LEVELS, np.arange(256), LEVELS),
                          _grid(LEVELS, LEVELS, np.arange(256))])
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    ref = np.asarray(Image.fromarray(rgb, 'RGB').convert('HSV'))
    h, s, v = pil_rgb_to_hsv(bgr)
    np.testing.assert_array_equal(np.stack([h, s, v], -1), ref)
    np.testing.assert_array_equal(pil_luma(bgr), np.asarray(Image.fromarray(rgb).convert('L')))


def test_hsv_to_rgb_equals_pillow():
    hsv = np.concatenate([_grid(np.arange(256), np.arange(256), LEVELS[::3]),
                          _grid(np.arange(256), LEVELS[::3], np.arange(256))])
    ref = np.asarray(Image.fromarray(hsv, 'HSV').convert('RGB'))[..., ::-1]
    out = pil_hsv_to_bgr(hsv[..., 0], hsv[..., 1], hsv[..., 2])
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize('shape', [(1, 1), (7, 5), (37, 52)])
def test_colour_operations_equal_mmcv_pillow(shape):
    rng = np.random.default_rng(sum(shape))
    warnings.filterwarnings('ignore', message="Only use 'alpha'")
    for i in range(40):
        img = rng.integers(0, 256, shape + (3, ), dtype=np.uint8)
        if i % 4 == 0:  # few distinct colours: ties and greys
            img = rng.choice(np.array([0, 1, 128, 254, 255], np.uint8), shape + (3, ))
        if i % 4 == 1:  # a flipped view (negative strides), as flips before the jitter give
            img = img[:, ::-1]
        factor = float(rng.choice([0.0, 1.0, 0.6, 1.4, 2.5])) if i < 10 else \
            float(rng.uniform(0, 2))
        np.testing.assert_array_equal(pil_adjust_brightness(img, factor),
                                      mmcv.adjust_brightness(img, factor, backend='pillow'))
        np.testing.assert_array_equal(pil_adjust_contrast(img, factor),
                                      mmcv.adjust_contrast(img, factor, backend='pillow'))
        np.testing.assert_array_equal(pil_adjust_color(img, factor),
                                      mmcv.adjust_color(img, factor, backend='pillow'))
        hue = float(rng.uniform(-0.5, 0.5))
        ref = pil_adjust_hue_reference(img, hue)
        np.testing.assert_array_equal(pil_adjust_hue(img, hue), ref)
        np.testing.assert_array_equal(adjust_hue(img, hue, 'pillow'), ref)
        if hue >= 0:  # where mmcv works under numpy 2, the reference is mmcv
            np.testing.assert_array_equal(ref, mmcv.adjust_hue(img, hue, backend='pillow'))
    with pytest.raises(ValueError, match='not in'):
        pil_adjust_hue(img, 0.6)


def _numpy2_safe_mmcv_hue(img, hue_factor, backend=None):
    """mmcv.adjust_hue with only its numpy-2 overflow fixed (for mmpretrain's ColorJitter)."""
    if backend == 'pillow':
        return pil_adjust_hue_reference(img, hue_factor)
    return adjust_hue(img, hue_factor, backend)


@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
def test_safe_color_jitter_equals_mmpretrain_with_the_same_draws(monkeypatch, backend):
    monkeypatch.setattr(mmcv, 'adjust_hue', _numpy2_safe_mmcv_hue)
    warnings.filterwarnings('ignore', message="Only use 'alpha'")
    kwargs = dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, backend=backend)
    ref, ours = ColorJitter(**kwargs), SafeColorJitter(**kwargs)
    rng = np.random.default_rng(0)
    for seed in range(30):
        img = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
        np.random.seed(seed)
        expected = ref(dict(img=img.copy()))['img']
        next_ref = np.random.rand()
        np.random.seed(seed)
        got = ours(dict(img=img.copy()))['img']
        assert np.random.rand() == next_ref  # the same random draws were consumed
        assert got.dtype == np.uint8 and got.shape == img.shape
        np.testing.assert_array_equal(got, expected)
