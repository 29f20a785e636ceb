# Copyright (c) mmfer contributors. All rights reserved.
"""Landmark heatmap targets with mmpose's codecs (``MSRAHeatmap`` by default), reused as is.

:func:`encode_heatmaps` is mmfer's one heatmap encoder: targets are made in the data pipeline
(by :class:`~mmfer.datasets.transforms.ContraWarpViews`, as mmpose's ``GenerateTarget`` does)
and the model's landmark head only reads them.
"""
from functools import lru_cache
from typing import Optional, Tuple, Union

import numpy as np


def build_codec(codec: Union[dict, object]):
    """Build an mmpose keypoint codec from a config dict (or return an already built one)."""
    if not isinstance(codec, dict):
        return codec
    from mmpose.registry import KEYPOINT_CODECS
    cfg = dict(codec)
    cfg['type'] = cfg['type'].split('.', 1)[1] if cfg['type'].startswith('mmpose.') \
        else cfg['type']
    cfg.setdefault('_scope_', 'mmpose')  # the codec registry is mmpose's (no mmfer child)
    return KEYPOINT_CODECS.build(cfg)


@lru_cache(maxsize=8)
def _msra_gaussian(sigma: float) -> np.ndarray:
    """The (G, G) float32 Gaussian patch of mmpose's ``generate_gaussian_heatmaps`` (3-sigma
    rule, peak 1 at its centre), the same expression and dtypes."""
    radius = sigma * 3
    size = 2 * radius + 1
    x = np.arange(0, size, 1, dtype=np.float32)
    y = x[:, None]
    x0 = y0 = size // 2
    gaussian = np.exp(-((x - x0)**2 + (y - y0)**2) / (2 * sigma**2))
    gaussian.setflags(write=False)
    return gaussian


def msra_gaussian_heatmaps(heatmap_size: Tuple[int, int], keypoints: np.ndarray,
                           keypoints_visible: np.ndarray, sigma: float
                           ) -> Tuple[np.ndarray, np.ndarray]:
    """mmpose's ``generate_gaussian_heatmaps`` for many single-instance samples at once.

    Each (sample, keypoint) gets the same cached Gaussian patch, placed at its rounded
    position with the same integer arithmetic and clipping as mmpose (one keypoint per
    channel, so mmpose's ``np.maximum`` with the zero map is the patch itself): the output
    equals ``generate_gaussian_heatmaps(heatmap_size, keypoints[v:v + 1],
    keypoints_visible[v:v + 1], sigma)`` for every ``v``, bit for bit.

    Args:
        heatmap_size (tuple): (W, H) of the heatmaps.
        keypoints (np.ndarray): (V, K, 2) keypoints in heatmap pixels.
        keypoints_visible (np.ndarray): (V, K) visibilities (< 0.5: no Gaussian).
        sigma (float): The Gaussian's sigma, in heatmap pixels.

    Returns:
        tuple: ``heatmaps`` (V, K, H, W) float32 and ``keypoint_weights`` (V, K) (a copy of
        ``keypoints_visible``, 0 where the Gaussian misses the heatmap).
    """
    w, h = heatmap_size
    nv, nk = keypoints.shape[:2]
    heatmaps = np.zeros((nv * nk, h, w), dtype=np.float32)
    weights = keypoints_visible.copy()
    radius = sigma * 3
    gaussian = _msra_gaussian(sigma)
    g = np.arange(gaussian.shape[0])
    mu = (keypoints + 0.5).astype(np.int64)
    left, top = np.moveaxis((mu - radius).astype(np.int64), -1, 0)
    right, bottom = np.moveaxis((mu + radius + 1).astype(np.int64), -1, 0)
    labelled = keypoints_visible >= 0.5
    outside = (left >= w) | (top >= h) | (right < 0) | (bottom < 0)
    weights[labelled & outside] = 0
    todo = np.flatnonzero(labelled & ~outside)
    if len(todo):
        left, top, right, bottom = (a.reshape(-1)[todo, None] for a in (left, top, right, bottom))
        cols, rows = left + g, top + g  # (M, G)
        col_ok = (cols >= 0) & (cols < np.minimum(w, right))
        row_ok = (rows >= 0) & (rows < np.minimum(h, bottom))
        mask = row_ok[:, :, None] & col_ok[:, None, :]  # (M, G, G)
        m, gi, gj = np.nonzero(mask)
        heatmaps[todo[m], rows[m, gi], cols[m, gj]] = gaussian[gi, gj]
    return heatmaps.reshape(nv, nk, h, w), weights


def encode_heatmaps(codec, keypoints: np.ndarray, weights: Optional[np.ndarray] = None,
                    img_shape: Optional[Tuple[int, int]] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Encode one face's landmarks (or several views' at once) into heatmaps with weights.

    mmpose's ``MSRAHeatmap`` (``unbiased=False``, mmfer's default codec) is encoded for all
    views at once by :func:`msra_gaussian_heatmaps`, the same numbers as ``codec.encode``;
    any other codec is called once per view.

    Args:
        codec: An mmpose heatmap codec (e.g. ``MSRAHeatmap``), built.
        keypoints (np.ndarray): (K, 2) landmarks in input-image pixels, or (V, K, 2) for V
            views of the same size.
        weights (np.ndarray, optional): (K,) or (V, K) per-keypoint weights (e.g. the 1.0 moved
            / 0.1 unmoved scheme); ones when None.
        img_shape (tuple[int, int], optional): (H, W) of the image the landmarks live in;
            checked against the codec's ``input_size`` (W, H) when given.

    Returns:
        tuple: ``heatmaps`` (K, h, w) (or (V, K, h, w)) float32 and ``keypoint_weights`` (K,)
        (or (V, K)) float32: ``weights`` times the codec's own weights (0 for landmarks whose
        Gaussian falls off the heatmap).
    """
    kpts = np.asarray(keypoints, dtype=np.float32)
    single = kpts.ndim == 2
    if kpts.ndim not in (2, 3) or kpts.shape[-1] != 2:
        raise ValueError(f'keypoints must be (K, 2) or (V, K, 2), got {kpts.shape}')
    kpts = kpts.reshape(-1, *kpts.shape[-2:])
    if img_shape is not None and hasattr(codec, 'input_size'):
        w, h = codec.input_size
        if tuple(img_shape[:2]) != (h, w):
            raise ValueError(f'the image is {img_shape[1]}x{img_shape[0]} (WxH) but the codec '
                             f'expects input_size={tuple(codec.input_size)} (W, H); resize the '
                             'view (e.g. FaceResize) or change the codec')
    if weights is None:
        weights = np.ones(kpts.shape[:2], np.float32)
    weights = np.broadcast_to(np.asarray(weights, dtype=np.float32), kpts.shape[:2])
    visible = (weights > 0).astype(np.float32)
    if _is_msra(codec):
        heatmaps, kw = msra_gaussian_heatmaps(codec.heatmap_size, kpts / codec.scale_factor,
                                              visible, codec.sigma)
    else:
        encoded = [codec.encode(kpts[v:v + 1], visible[v:v + 1]) for v in range(len(kpts))]
        heatmaps = np.stack([e['heatmaps'] for e in encoded])
        kw = np.concatenate([e['keypoint_weights'] for e in encoded])
    heatmaps = heatmaps.astype(np.float32, copy=False)
    kw = kw.astype(np.float32) * weights
    return (heatmaps[0], kw[0]) if single else (heatmaps, kw)


def _is_msra(codec) -> bool:
    """An mmpose ``MSRAHeatmap`` (biased, the plain Gaussian) whose encoding mmfer batches."""
    from mmpose.codecs import MSRAHeatmap
    return type(codec) is MSRAHeatmap and not codec.unbiased
