# Copyright (c) mmfer contributors. All rights reserved.
"""Crop an uncropped picture to its annotated face box (AffectNet's ``face_x/y/width/height``)."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmfer.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CropFaceBox(BaseTransform):
    """Crop ``img`` to ``face_bbox`` (x1, y1, x2, y2), enlarged by ``scale`` around its centre.

    The box is clipped to the image; ``gt_keypoints`` (K, 2) are shifted accordingly.
    No-op for samples without ``face_bbox`` (pre-cropped images). A box with less than
    2 px inside the image raises a ``ValueError`` naming the image.

    **Required Keys:**

    - img
    - face_bbox (optional)
    - gt_keypoints (optional)

    **Modified Keys:**

    - img
    - img_shape
    - face_bbox (the box in the crop)
    - gt_keypoints

    Args:
        scale (float): Box enlargement factor. Defaults to 1.0.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f'CropFaceBox: scale must be > 0, got {scale}')
        self.scale = scale

    def transform(self, results: dict) -> dict:
        box = results.get('face_bbox')
        if box is None:
            return results
        img = results['img']
        h, w = img.shape[:2]
        x1, y1, x2, y2 = [float(v) for v in box]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        hw, hh = (x2 - x1) * self.scale / 2, (y2 - y1) * self.scale / 2
        x1, x2 = int(round(max(0, cx - hw))), int(round(min(w, cx + hw)))
        y1, y2 = int(round(max(0, cy - hh))), int(round(min(h, cy + hh)))
        if x2 - x1 < 2 or y2 - y1 < 2:
            raise ValueError(f'CropFaceBox: face box {list(box)} lies outside the '
                             f'{w}x{h} image {results.get("img_path")}')
        results['img'] = img[y1:y2, x1:x2]
        results['img_shape'] = results['img'].shape[:2]
        results['face_bbox'] = np.array([0, 0, x2 - x1, y2 - y1], np.float32)
        if results.get('gt_keypoints') is not None:
            results['gt_keypoints'] = results['gt_keypoints'] - np.array([x1, y1], np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale})'
