# Copyright (c) mmfer contributors. All rights reserved.
"""mmpretrain's ``ColorJitter`` with a hue shift that works under numpy >= 2, computed fast.

``mmcv.adjust_hue`` (mmcv 2.0.x) computes ``np.uint8(hue_factor * 255)``, which numpy 2 refuses
for a negative factor (``OverflowError``), so every BYOL-style pipeline with ``hue=0.1`` fails
half of the time. :class:`SafeColorJitter`, registered under its own name (so
``type='ColorJitter'`` keeps meaning mmpretrain's), does the same uint8 wrap-around shift of the
hue channel with integer arithmetic.

With mmpretrain's default ``backend='pillow'`` the four operations are computed on the uint8
BGR array with numpy/OpenCV (look-up tables for brightness and contrast, one float32 blend for
saturation, table-driven HSV conversions for hue) instead of round trips through PIL images.
They reproduce Pillow's arithmetic (``Image.blend``: float32 ``in1 + alpha * (in2 - in1)``,
clipped and truncated; ``convert('L')``: ITU-R 601-2 in 16-bit fixed point;
``convert('HSV')``/back: Pillow's ``rgb2hsv``/``hsv2rgb`` float/double steps), so the output
equals ``mmcv.adjust_*(..., backend='pillow')`` pixel for pixel;
``tests/test_datasets/test_transforms/test_photometric.py`` checks this against PIL on every
HSV/RGB value and against mmpretrain's ``ColorJitter`` with the same random draws.
"""
from functools import lru_cache
from typing import Tuple

import cv2
import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter as _MMPretrainColorJitter
from PIL import Image

from mmfer.registry import TRANSFORMS

_LEVELS = np.arange(256, dtype=np.float32)
# bit offset of the (b, g, r) output byte per hsv2rgb sector in (v, p, x) packed as uint32,
# x = q in odd sectors, t in even ones
_SECTOR_SHIFTS = np.array([[8, 8, 16, 0, 0, 16],   # b: p p t v v q
                           [16, 0, 0, 16, 8, 8],   # g: t v v q p p
                           [0, 16, 8, 8, 16, 0]],  # r: v q p p t v
                          dtype=np.uint32)


def _hue_shift(hue_factor: float) -> int:
    """The uint8 shift of the 8-bit hue channel (``mmcv.adjust_hue`` under numpy 1)."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5]')
    return int(hue_factor * 255) % 256


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
    shift = _hue_shift(hue_factor)
    if backend == 'pillow':
        if img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3:
            return pil_adjust_hue(img, hue_factor)
        return pil_adjust_hue_reference(img, hue_factor)
    dtype = img.dtype
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] = ((hsv[..., 0].astype(np.uint16) + shift) % 256).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def pil_adjust_hue_reference(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """``mmcv.adjust_hue(img, hue_factor, backend='pillow')`` as mmcv computes it (through PIL
    images), with the numpy-2-safe shift: the reference :func:`pil_adjust_hue` equals."""
    shift = _hue_shift(hue_factor)
    pil = Image.fromarray(np.ascontiguousarray(img[..., ::-1]), mode='RGB')
    h, s, v = pil.convert('HSV').split()
    np_h = ((np.array(h, dtype=np.uint16) + shift) % 256).astype(np.uint8)
    out = Image.merge('HSV', (Image.fromarray(np_h, 'L'), s, v)).convert('RGB')
    return np.array(out, dtype=img.dtype)[..., ::-1]


# ----------------------------------------------------------------------------------------------
# Pillow's arithmetic on uint8 BGR arrays
def _blend_levels(degenerate, levels: np.ndarray, factor: float) -> np.ndarray:
    """``PIL.Image.blend(degenerate, image, factor)`` on uint8 values (float32, clip, trunc)."""
    alpha = np.float32(factor)
    deg = np.asarray(degenerate, dtype=np.float32)
    out = deg + alpha * (levels - deg)
    return np.clip(out, 0, 255).astype(np.uint8)


def pil_luma(img: np.ndarray) -> np.ndarray:
    """PIL's ``convert('L')`` of a BGR uint8 image: (H, W) uint8 (ITU-R 601-2, 16-bit fixed
    point, ``(R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16``)."""
    u32 = np.uint32
    b, g, r = cv2.split(np.ascontiguousarray(img))
    acc = r.astype(u32) * u32(19595)
    acc += g.astype(u32) * u32(38470)
    acc += b.astype(u32) * u32(7471)
    acc += u32(0x8000)
    acc >>= u32(16)
    return acc.astype(np.uint8)


def pil_adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """``mmcv.adjust_brightness(img, factor, backend='pillow')`` of a BGR uint8 image."""
    return cv2.LUT(img, _blend_levels(0, _LEVELS, factor))


def pil_adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """``mmcv.adjust_contrast(img, factor, backend='pillow')`` of a BGR uint8 image.

    PIL blends with a grey image at the rounded mean of the luma (``ImageStat`` mean).
    """
    luma = pil_luma(img)
    mean = int(float(luma.sum(dtype=np.int64)) / luma.size + 0.5)
    return cv2.LUT(img, _blend_levels(mean, _LEVELS, factor))


def pil_adjust_color(img: np.ndarray, factor: float) -> np.ndarray:
    """``mmcv.adjust_color(img, alpha=factor, backend='pillow')`` of a BGR uint8 image
    (PIL's ``ImageEnhance.Color``: a blend with the luma replicated to 3 channels)."""
    luma = pil_luma(img).astype(np.float32)[..., None]
    out = img.astype(np.float32)
    out -= luma  # Image.blend(luma, img, factor) in float32, as Pillow
    out *= np.float32(factor)
    out += luma
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


@lru_cache(maxsize=1)
def _hsv_tables() -> Tuple[np.ndarray, ...]:
    """Look-up tables of Pillow's ``rgb2hsv``/``hsv2rgb`` (computed once per process).

    Returns ``(hue_lut, sat_lut, sector, p_lut, x_scale)``:

    - ``hue_lut`` (6, 256, 256) uint8: the 8-bit hue per case (which channel is the maximum,
      which the minimum) as a function of ``(max - mid, max - min)``;
    - ``sat_lut`` (256, 256) uint8: the 8-bit saturation per ``(max - min, max)``;
    - ``sector`` (256,) int: ``i % 6`` of ``hsv2rgb`` per hue;
    - ``p_lut`` (256, 256) uint8: ``p`` per ``(s, v)``;
    - ``x_scale`` (256, 256) float64: per ``(h, s)`` the factor of ``v`` in ``q`` (odd
      sectors) or ``t`` (even sectors), rounded after the multiplication as Pillow does.
    """
    f32, f64 = np.float32, np.float64
    # rgb2hsv: h of each case from d = max - mid and cr = max - min (float32 quotients)
    d = np.arange(256)[:, None]
    cr = np.arange(256)[None, :]
    with np.errstate(divide='ignore', invalid='ignore'):
        crf = cr.astype(f32)
        q_mid = d.astype(f32) / crf  # (max - mid) / cr
        one = crf / crf  # (max - min) / cr == 1.0 (nan where cr == 0)
        zero = np.zeros_like(crf) / crf  # (max - max) / cr == 0.0
        # (rc, gc, bc) of the cases (max, min) = (r, g), (r, b), (g, r), (g, b), (b, r), (b, g)
        cases = [('r', (zero, one, q_mid)), ('r', (zero, q_mid, one)),
                 ('g', (one, zero, q_mid)), ('g', (q_mid, zero, one)),
                 ('b', (one, q_mid, zero)), ('b', (q_mid, one, zero))]
        hue = np.zeros((6, 256, 256), np.uint8)
        for c, (mx, (rc, gc, bc)) in enumerate(cases):
            rc, gc, bc = (np.broadcast_to(a, (256, 256)) for a in (rc, gc, bc))
            if mx == 'r':
                h = (bc - gc).astype(f32)
            elif mx == 'g':
                h = ((2.0 + rc.astype(f64)) - bc.astype(f64)).astype(f32)
            else:
                h = ((4.0 + gc.astype(f64)) - rc.astype(f64)).astype(f32)
            h = np.fmod(h.astype(f64) / 6.0 + 1.0, 1.0).astype(f32)
            val = np.trunc(h.astype(f64) * 255.0)
            hue[c] = np.clip(np.nan_to_num(val), 0, 255).astype(np.uint8)
        mx = np.arange(256)[None, :]
        s = crf.T / mx.astype(f32)  # (cr, max)
        sat = np.clip(np.nan_to_num(np.trunc(s.astype(f32).astype(f64) * 255.0)), 0, 255)
    sat = sat.astype(np.uint8)
    # hsv2rgb
    h = np.arange(256)
    hd = h.astype(f32).astype(f64) * 6.0 / 255.0
    i = np.floor(hd).astype(np.int64)
    frac = (hd - i.astype(f32).astype(f64)).astype(f32)  # (256,) float32
    fs = (np.arange(256).astype(f32).astype(f64) / 255.0).astype(f32)  # (256,) float32
    v = np.arange(256).astype(f32).astype(f64)
    # C round() of x >= 0 as floor(x + 0.5) (the same on every value, see the tests)
    p = np.floor(v[None, :] * (1.0 - fs.astype(f64))[:, None] + 0.5)  # (s, v)
    p_lut = np.clip(p, 0, 255).astype(np.uint8)
    q_scale = 1.0 - (fs[None, :] * frac[:, None]).astype(f32).astype(f64)  # (h, s)
    t_scale = 1.0 - fs.astype(f64)[None, :] * (1.0 - frac.astype(f64))[:, None]
    sector = (i % 6).astype(np.uint8)
    x_scale = np.where((sector % 2 == 1)[:, None], q_scale, t_scale)
    return hue, sat, sector, p_lut, x_scale


def pil_rgb_to_hsv(img: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PIL's ``convert('HSV')`` of a BGR uint8 image: the h, s, v channels, (H, W) uint8."""
    hue_lut, sat_lut = _hsv_tables()[:2]
    u32 = np.uint32
    b, g, r = cv2.split(np.ascontiguousarray(img))
    rg_max, rg_min = cv2.max(r, g), cv2.min(r, g)
    mx, mn = cv2.max(rg_max, b), cv2.min(rg_min, b)
    mid = cv2.max(rg_min, cv2.min(rg_max, b))
    # case (max channel, min channel) in Pillow's order (r wins ties, then g):
    # (r, g) 0, (r, b) 1, (g, r) 2, (g, b) 3, (b, r) 4, (b, g) 5
    not_r = r != mx
    not_rg = not_r & (g != mx)
    case = not_r.view(np.uint8) * np.uint8(2)
    case += not_rg
    case += not_rg
    case += np.where(not_r, r != mn, g != mn)
    idx = (case.astype(u32) << u32(16)) | (cv2.subtract(mx, mid).astype(u32) << u32(8))
    cr = cv2.subtract(mx, mn).astype(u32)
    idx |= cr
    h = np.take(hue_lut.reshape(-1), idx)  # 0 where max == min (a table entry)
    cr <<= u32(8)
    cr |= mx
    s = np.take(sat_lut.reshape(-1), cr)
    return h, s, mx


def pil_hsv_to_bgr(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """PIL's ``convert('RGB')`` of an HSV image given as (H, W) uint8 channels, as BGR."""
    sector_lut, p_lut, x_scale = _hsv_tables()[2:]
    s = s.astype(np.intp)
    p = np.take(p_lut.reshape(-1), s * 256 + v)
    # x: q in odd sectors, t in even ones (each pixel uses one of them)
    x = v * np.take(x_scale.reshape(-1), h.astype(np.intp) * 256 + s)
    x += 0.5
    x = np.floor(x, out=x).astype(np.uint32)  # C round() of x >= 0
    # (r, g, b) per sector: (v,t,p) (q,v,p) (p,v,t) (p,q,v) (t,p,v) (v,p,q), picked from the
    # bytes of one uint32 per pixel (v, p, x at bits 0, 8, 16); with s == 0, p == x == v
    u32 = np.uint32
    packed = v.astype(u32) | (p.astype(u32) << u32(8)) | (x << u32(16))
    sector = np.take(sector_lut, h)
    b, g, r = ((packed >> np.take(_SECTOR_SHIFTS[c], sector)).astype(np.uint8)
               for c in range(3))
    return cv2.merge((b, g, r))


def pil_adjust_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """``adjust_hue(img, hue_factor, backend='pillow')`` on a BGR uint8 image, without PIL."""
    shift = _hue_shift(hue_factor)
    h, s, v = pil_rgb_to_hsv(img)
    h = h + np.uint8(shift)  # uint8 wrap-around
    return pil_hsv_to_bgr(h, s, v)


@TRANSFORMS.register_module()
class SafeColorJitter(_MMPretrainColorJitter):
    """mmpretrain's ``ColorJitter`` (same arguments and randomness) with a numpy-2-safe hue.

    With ``backend='pillow'`` (mmpretrain's default) and uint8 images the operations run on
    the array (see the module docstring; the same output as mmpretrain's, pixel for pixel);
    with ``backend='cv2'`` they are mmcv's. See
    :class:`mmpretrain.datasets.transforms.ColorJitter` for the arguments.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        trans_inds, brightness, contrast, saturation, hue = self._rand_params()
        fast = (self.backend == 'pillow' and img.dtype == np.uint8 and img.ndim == 3
                and img.shape[2] == 3)
        for index in trans_inds:
            if index == 0 and brightness is not None:
                img = pil_adjust_brightness(img, brightness) if fast else \
                    mmcv.adjust_brightness(img, brightness, backend=self.backend)
            elif index == 1 and contrast is not None:
                img = pil_adjust_contrast(img, contrast) if fast else \
                    mmcv.adjust_contrast(img, contrast, backend=self.backend)
            elif index == 2 and saturation is not None:
                img = pil_adjust_color(img, saturation) if fast else \
                    mmcv.adjust_color(img, alpha=saturation, backend=self.backend)
            elif index == 3 and hue is not None:
                img = adjust_hue(img, hue, backend=self.backend)
        results['img'] = img
        return results
