# Copyright (c) mmfer contributors. All rights reserved.
"""Landmark heatmap targets with mmpose's codecs (``MSRAHeatmap`` by default), reused as is.

:func:`encode_heatmaps` is mmfer's one heatmap encoder: targets are made in the data pipeline
(by :class:`~mmfer.datasets.transforms.ContraWarpViews`, as mmpose's ``GenerateTarget`` does)
and the model's landmark head only reads them.
"""
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


def encode_heatmaps(codec, keypoints: np.ndarray, weights: Optional[np.ndarray] = None,
                    img_shape: Optional[Tuple[int, int]] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Encode one face's landmarks into heatmaps with per-keypoint weights.

    Args:
        codec: An mmpose heatmap codec (e.g. ``MSRAHeatmap``), built.
        keypoints (np.ndarray): (K, 2) landmarks in input-image pixels.
        weights (np.ndarray, optional): (K,) per-keypoint weights (e.g. the 1.0 moved / 0.1
            unmoved scheme); ones when None.
        img_shape (tuple[int, int], optional): (H, W) of the image the landmarks live in;
            checked against the codec's ``input_size`` (W, H) when given.

    Returns:
        tuple: ``heatmaps`` (K, h, w) float32 and ``keypoint_weights`` (K,) float32: ``weights``
        times the codec's own weights (0 for landmarks whose Gaussian falls off the heatmap).
    """
    kpts = np.asarray(keypoints, dtype=np.float32)
    if kpts.ndim != 2 or kpts.shape[1] != 2:
        raise ValueError(f'keypoints must be (K, 2), got {kpts.shape}')
    if img_shape is not None and hasattr(codec, 'input_size'):
        w, h = codec.input_size
        if tuple(img_shape[:2]) != (h, w):
            raise ValueError(f'the image is {img_shape[1]}x{img_shape[0]} (WxH) but the codec '
                             f'expects input_size={tuple(codec.input_size)} (W, H); resize the '
                             'view (e.g. FaceResize) or change the codec')
    if weights is None:
        weights = np.ones(len(kpts), np.float32)
    weights = np.asarray(weights, dtype=np.float32)
    visible = (weights > 0).astype(np.float32)[None]
    enc = codec.encode(kpts[None], visible)
    kw = enc['keypoint_weights'][0].astype(np.float32) * weights
    return enc['heatmaps'].astype(np.float32), kw
