# Copyright (c) mmfer contributors. All rights reserved.
"""Face alignment: a similarity transform from 5 facial points onto a named crop template.

The 5 points are, in this order, the eye on the image's left (the subject's right eye), the
eye on the image's right, the nose tip, the mouth corner on the image's left and the one on
the image's right (InsightFace / MTCNN order). 68-point iBUG 300-W landmarks reduce to them
with :func:`keypoints68_to_5` (eye centres = mean of the 6 eye contour points, nose tip = 30,
mouth corners = 48 and 54).

Templates (``FACE_TEMPLATES``; pixel centres at integer coordinates, as ``cv2.warpAffine``):

=================  =========  ==========================================================
name               size       what it is
=================  =========  ==========================================================
``arcface_112``    112x112    InsightFace's ``arcface_dst``: the crop of MS1M-ArcFace
                              (``faces_emore``), the ContraWarping pre-training data.
``affwild2_112``   112x112    Aff-Wild2 ``cropped_aligned`` frames (ABAW). The organisers
                              release 112x112 aligned crops without their template; we
                              **assume** ArcFace's points (same numbers as ``arcface_112``).
``rafdb_100``      100x100    RAF-DB ``Image/aligned``: the database aligns by a similarity
                              transform from 5 landmarks to 100x100 but does not publish
                              the template; we **assume** ArcFace's points scaled to 100 px.
``emoco_256``      256x256    SeetaFace's 5-point mean shape for 256x256 crops (SeetaFace
                              Engine / SeetaFace2 face aligner): EmoCo (§IV.B.1) detects
                              5 points with SeetaFace and aligns to 256x256.
=================  =========  ==========================================================

A template can also be given as ``dict(points=[[x, y]] * 5, size=(w, h))`` and scaled to
another output size (``output_size``) with the exact pixel-centre map
``(p + 0.5) * s - 0.5``. The transform itself is
:func:`~mmfer.datasets.transforms.face_swap.similarity_transform` (Umeyama least squares)
on the finite points (at least 2: dlib's 5-point model gives the eyes only).
"""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmfer.registry import TRANSFORMS
from .face_swap import similarity_transform
from .utils import check_bgr_image, describe, get_face_keypoints, set_face_keypoints

#: Names of the 5 alignment points, in order ("left" = the image's left).
FIVE_POINT_NAMES = ('left_eye', 'right_eye', 'nose_tip', 'mouth_left', 'mouth_right')


class FaceTemplate(NamedTuple):
    """Target positions of the 5 points in an aligned crop of ``size`` = (w, h) pixels."""
    points: np.ndarray
    size: Tuple[int, int]
    source: str


_ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]])
_SEETAFACE_256 = np.array([[89.3095, 72.9025], [169.3095, 72.9025], [127.8949, 127.0441],
                           [96.8796, 184.8907], [159.1065, 184.7601]])


def _scale_points(points: np.ndarray, size: Tuple[int, int],
                  new_size: Tuple[int, int]) -> np.ndarray:
    """Template points of a (w, h) crop moved to a (w', h') crop (pixel centres exact)."""
    s = np.array(new_size, np.float64) / np.array(size, np.float64)
    return (np.asarray(points, np.float64) + 0.5) * s - 0.5


FACE_TEMPLATES: Dict[str, FaceTemplate] = {
    'arcface_112': FaceTemplate(_ARCFACE_112, (112, 112),
                                'InsightFace arcface_dst (MS1M-ArcFace faces_emore crops)'),
    'affwild2_112': FaceTemplate(_ARCFACE_112, (112, 112),
                                 'assumed: ArcFace points (Aff-Wild2 cropped_aligned are '
                                 '112x112; the template is not published)'),
    'rafdb_100': FaceTemplate(_scale_points(_ARCFACE_112, (112, 112), (100, 100)), (100, 100),
                              'assumed: ArcFace points scaled to 100x100 (RAF-DB aligned; '
                              'the template is not published)'),
    'emoco_256': FaceTemplate(_SEETAFACE_256, (256, 256),
                              'SeetaFace 5-point mean shape, 256x256 (EmoCo §IV.B.1)'),
}

_INTERP = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR,
           'bicubic': cv2.INTER_CUBIC, 'area': cv2.INTER_AREA}
_BORDER = {'constant': cv2.BORDER_CONSTANT, 'replicate': cv2.BORDER_REPLICATE,
           'reflect': cv2.BORDER_REFLECT_101}


def keypoints68_to_5(kpts: np.ndarray) -> np.ndarray:
    """(..., 68, 2) iBUG 300-W landmarks -> (..., 5, 2) alignment points.

    Eye centres are the means of points 36-41 and 42-47, the nose tip is point 30, the mouth
    corners are points 48 and 54 (0-based).
    """
    kpts = np.asarray(kpts, np.float32)
    if kpts.shape[-2:] != (68, 2):
        raise ValueError(f'keypoints68_to_5 needs (..., 68, 2) landmarks, got {kpts.shape}')
    return np.stack([kpts[..., 36:42, :].mean(-2), kpts[..., 42:48, :].mean(-2),
                     kpts[..., 30, :], kpts[..., 48, :], kpts[..., 54, :]], axis=-2)


def _size2(size: Union[int, Sequence[int]], what: str) -> Tuple[int, int]:
    size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f'{what} must be a positive int or (w, h), got {size}')
    return int(size[0]), int(size[1])


def get_face_template(template: Union[str, dict, FaceTemplate] = 'arcface_112',
                      output_size: Optional[Union[int, Sequence[int]]] = None
                      ) -> Tuple[np.ndarray, Tuple[int, int]]:
    """The (5, 2) float64 target points and the (w, h) crop size of a template.

    Args:
        template (str | dict): A name in :data:`FACE_TEMPLATES` or
            ``dict(points=(5, 2), size=(w, h))``.
        output_size (int | (w, h), optional): Scale the template to this crop size.

    Raises:
        KeyError: unknown template name (the message lists the known ones).
        ValueError: malformed points or size.
    """
    if isinstance(template, str):
        if template not in FACE_TEMPLATES:
            raise KeyError(f'unknown face template {template!r}; known templates: '
                           f'{sorted(FACE_TEMPLATES)}, or dict(points=[[x, y]] * 5, '
                           'size=(w, h))')
        template = FACE_TEMPLATES[template]
    if isinstance(template, dict):
        if set(template) - {'points', 'size'} or 'points' not in template or \
                'size' not in template:
            raise ValueError(f'a template dict needs exactly the keys points and size, '
                             f'got {sorted(template)}')
        points, size = template['points'], template['size']
    else:
        points, size = template.points, template.size
    points = np.asarray(points, np.float64)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        raise ValueError(f'template points must be a finite (5, 2) array, got {points.shape}')
    size = _size2(size, 'template size')
    if output_size is not None:
        new_size = _size2(output_size, 'output_size')
        points, size = _scale_points(points, size, new_size), new_size
    return points, size


def estimate_face_alignment(points5: np.ndarray, template_points: np.ndarray) -> np.ndarray:
    """Similarity (2, 3) matrix mapping image points onto the template, from finite points.

    Args:
        points5 (np.ndarray): (5, 2) detected points; non-finite rows (e.g. the nose and mouth
            of dlib's 5-point model) are left out of the fit.
        template_points (np.ndarray): (5, 2) target points.

    Raises:
        ValueError: fewer than 2 finite points, or they coincide.
    """
    points5 = np.asarray(points5, np.float64)
    if points5.shape != (5, 2):
        raise ValueError(f'alignment needs (5, 2) points, got {points5.shape}')
    ok = np.isfinite(points5).all(1)
    if ok.sum() < 2:
        raise ValueError(f'alignment needs at least 2 finite points, got {int(ok.sum())}')
    matrix = similarity_transform(points5[ok], np.asarray(template_points)[ok])
    if not np.isfinite(matrix).all() or abs(np.linalg.det(matrix[:, :2])) < 1e-12:
        raise ValueError(f'degenerate alignment points {points5[ok].tolist()} (they coincide)')
    return matrix


def align_face(img: np.ndarray, points5: np.ndarray,
               template: Union[str, dict] = 'arcface_112',
               output_size: Optional[Union[int, Sequence[int]]] = None,
               interpolation: str = 'bilinear', border_mode: str = 'constant',
               border_value: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """Warp the face with ``points5`` onto ``template``.

    Args:
        img (np.ndarray): (H, W, C) image.
        points5 (np.ndarray): (5, 2) points in ``img`` pixels (see the module docstring).
        template, output_size: See :func:`get_face_template`.
        interpolation (str): ``'nearest'``, ``'bilinear'``, ``'bicubic'`` or ``'area'``.
        border_mode (str): ``'constant'``, ``'replicate'`` or ``'reflect'``.
        border_value (float): Fill value of ``'constant'``.

    Returns:
        tuple: ``(aligned (h, w, C) image, matrix (2, 3) float64)`` with
        ``aligned_point = matrix[:, :2] @ point + matrix[:, 2]``.
    """
    if interpolation not in _INTERP:
        raise ValueError(f'interpolation must be one of {sorted(_INTERP)}, got '
                         f'{interpolation!r}')
    if border_mode not in _BORDER:
        raise ValueError(f'border_mode must be one of {sorted(_BORDER)}, got {border_mode!r}')
    dst, size = get_face_template(template, output_size)
    matrix = estimate_face_alignment(points5, dst)
    aligned = cv2.warpAffine(img, matrix, size, flags=_INTERP[interpolation],
                             borderMode=_BORDER[border_mode], borderValue=border_value)
    return aligned, matrix


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (..., 2) points (NaN stays NaN)."""
    points = np.asarray(points, np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


@TRANSFORMS.register_module()
class AlignFace(BaseTransform):
    """Align a face onto a 5-point template (see :mod:`.align_face` for the templates).

    The 5 points come from ``results[points_key]`` (a detector's, (5, 2)) when present,
    otherwise from the sample's landmarks (``gt_keypoints`` (K, 2) or mmpose-style
    ``keypoints`` (1, K, 2)): 68 points are reduced with :func:`keypoints68_to_5`, 5 points
    are used as they are.

    Required keys: ``img`` (H, W, 3) and one of the point sources above.

    Modified keys: ``img`` (the aligned crop), ``img_shape``, ``gt_keypoints`` /
    ``keypoints`` and ``points_key`` (mapped through the transform). Added keys:
    ``align_matrix`` (2, 3) float32 (original image -> crop) and ``ori_keypoints5`` (5, 2).

    Args:
        template (str | dict): Template name (``'arcface_112'``, ``'affwild2_112'``,
            ``'rafdb_100'``, ``'emoco_256'``) or ``dict(points=..., size=(w, h))``.
            Defaults to ``'arcface_112'``.
        output_size (int | (w, h), optional): Scale the template to this crop size.
        points_key (str): Key of detected 5 points. Defaults to ``'keypoints5'``.
        interpolation (str): Defaults to ``'bilinear'``.
        border_mode (str): ``'constant'`` (default), ``'replicate'`` or ``'reflect'``.
        border_value (float): Fill of the ``'constant'`` border. Defaults to 0.
    """

    def __init__(self, template: Union[str, dict] = 'arcface_112',
                 output_size: Optional[Union[int, Sequence[int]]] = None,
                 points_key: str = 'keypoints5', interpolation: str = 'bilinear',
                 border_mode: str = 'constant', border_value: float = 0.0) -> None:
        self.template_points, self.size = get_face_template(template, output_size)
        if interpolation not in _INTERP:
            raise ValueError(f'interpolation must be one of {sorted(_INTERP)}, got '
                             f'{interpolation!r}')
        if border_mode not in _BORDER:
            raise ValueError(f'border_mode must be one of {sorted(_BORDER)}, got '
                             f'{border_mode!r}')
        self.template = template
        self.output_size = output_size
        self.points_key = points_key
        self.interpolation = interpolation
        self.border_mode = border_mode
        self.border_value = float(border_value)

    def _points5(self, results: dict) -> np.ndarray:
        if results.get(self.points_key) is not None:
            pts = np.asarray(results[self.points_key], np.float64)
            if pts.shape != (5, 2):
                raise ValueError(f'AlignFace: {self.points_key} must have shape (5, 2), got '
                                 f'{pts.shape} ({describe(results)})')
            return pts
        kpts, _, key = get_face_keypoints(results, 'AlignFace')
        if kpts is None:
            raise KeyError(f'AlignFace: no points to align with ({describe(results)}): give '
                           f'{self.points_key!r} (5, 2) from a face detector, or 68/5-point '
                           '"gt_keypoints"')
        if len(kpts) == 68:
            return keypoints68_to_5(kpts).astype(np.float64)
        if len(kpts) == 5:
            return kpts.astype(np.float64)
        raise ValueError(f'AlignFace: {key} has {len(kpts)} points; only 68 (iBUG 300-W) or 5 '
                         f'can be reduced to the alignment points ({describe(results)})')

    def transform(self, results: dict) -> dict:
        img = check_bgr_image(results, 'AlignFace')
        pts5 = self._points5(results)
        try:
            matrix = estimate_face_alignment(pts5, self.template_points)
        except ValueError as e:
            raise ValueError(f'AlignFace: {e} ({describe(results)})') from None
        results['img'] = cv2.warpAffine(img, matrix, self.size,
                                        flags=_INTERP[self.interpolation],
                                        borderMode=_BORDER[self.border_mode],
                                        borderValue=self.border_value)
        results['img_shape'] = (self.size[1], self.size[0])
        results['align_matrix'] = matrix.astype(np.float32)
        results['ori_keypoints5'] = pts5.astype(np.float32)
        if results.get(self.points_key) is not None:
            results[self.points_key] = transform_points(pts5, matrix).astype(np.float32)
        kpts, _, key = get_face_keypoints(results, 'AlignFace')
        if kpts is not None:
            set_face_keypoints(results, transform_points(kpts, matrix).astype(np.float32), key)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(template={self.template!r}, '
                f'output_size={self.output_size}, points_key={self.points_key!r}, '
                f'interpolation={self.interpolation!r}, border_mode={self.border_mode!r})')
