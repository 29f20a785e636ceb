# Copyright (c) mmfer contributors. All rights reserved.
"""The face-detector interface: a BGR image in, the faces (box, score, landmarks) out."""
from abc import ABCMeta, abstractmethod
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.structures import InstanceData

from mmfer.datasets.transforms.align_face import keypoints68_to_5
from mmfer.registry import FACE_DETECTORS

#: ``keypoint_layout`` values: the landmark model's own points and how they give the 5
#: alignment points (see :func:`keypoints_to_5`).
KEYPOINT_LAYOUTS = ('ibug68', 'dlib5', 'five', None)


def keypoints_to_5(kpts: Optional[np.ndarray], layout: Optional[str], num: int) -> np.ndarray:
    """(N, 5, 2) alignment points (NaN where the layout has none) from (N, K, 2) landmarks.

    Layouts: ``'ibug68'`` (68 points, :func:`keypoints68_to_5`), ``'five'`` (already the 5
    points, MTCNN order), ``'dlib5'`` (dlib's 5-point model: outer/inner corner of the eye on
    the image's right, then of the eye on the image's left, then the base of the nose; the eye
    centres are the corner means, nose tip and mouth are unknown), None (no landmarks).
    """
    out = np.full((num, 5, 2), np.nan, np.float32)
    if kpts is None or layout is None or num == 0:
        return out
    kpts = np.asarray(kpts, np.float32)
    if layout == 'ibug68':
        return keypoints68_to_5(kpts)
    if layout == 'five':
        return kpts.reshape(num, 5, 2).copy()
    if layout == 'dlib5':
        out[:, 0] = kpts[:, 2:4].mean(1)
        out[:, 1] = kpts[:, 0:2].mean(1)
        return out
    raise ValueError(f'unknown keypoint layout {layout!r}; known: {KEYPOINT_LAYOUTS}')


def check_image(img: np.ndarray, owner: str) -> np.ndarray:
    """Return ``img`` if it is an (H, W, 3) uint8 array, else raise a clear error."""
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'{owner}: expects an (H, W, 3) uint8 BGR image, got '
                         f'{type(img).__name__} of shape {getattr(img, "shape", None)}')
    if img.dtype != np.uint8:
        raise ValueError(f'{owner}: expects a uint8 image, got dtype {img.dtype}')
    return img


class BaseFaceDetector(metaclass=ABCMeta):
    """Face detector: (H, W, 3) uint8 **BGR** image -> :class:`InstanceData`, best first.

    Result fields, N faces sorted by decreasing score:

    - ``bboxes`` (N, 4) float32: x1, y1, x2, y2 in pixels (x2, y2 exclusive);
    - ``scores`` (N,) float32: the backend's own score (dlib HOG: SVM margin, dlib CNN:
      MMOD confidence, MTCNN: face probability), so thresholds are per backend;
    - ``keypoints5`` (N, 5, 2) float32: the 5 alignment points of
      :mod:`mmfer.datasets.transforms.align_face` (NaN where the backend has none);
    - ``keypoints`` (N, K, 2) float32: the landmark model's own points, when it has any.

    ``metainfo``: ``img_shape`` (H, W), ``detector`` (its repr), ``keypoint_layout``.

    Args:
        score_thr (float): Faces scoring below are dropped.
        max_faces (int, optional): Keep at most this many (the best scoring).
        min_size (float): Drop faces whose box is smaller than this (shorter side, pixels).
    """

    #: The pip extra / install line named by the error when the backend is missing.
    install_hint: str = ''

    def __init__(self, score_thr: float = 0.0, max_faces: Optional[int] = None,
                 min_size: float = 0.0) -> None:
        if max_faces is not None and int(max_faces) < 1:
            raise ValueError(f'max_faces must be >= 1 or None, got {max_faces}')
        self.score_thr = float(score_thr)
        self.max_faces = None if max_faces is None else int(max_faces)
        self.min_size = float(min_size)

    @property
    @abstractmethod
    def keypoint_layout(self) -> Optional[str]:
        """The layout of ``keypoints`` (one of :data:`KEYPOINT_LAYOUTS`)."""

    @abstractmethod
    def _detect_rgb(self, rgb: np.ndarray
                    ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """(N, 4) xyxy boxes, (N,) scores and (N, K, 2) landmarks or None, for an RGB image."""

    def _detect_rgb_batch(self, rgbs: Sequence[np.ndarray]) -> List[tuple]:
        """Backends that batch override this; the default runs image by image."""
        return [self._detect_rgb(rgb) for rgb in rgbs]

    def __call__(self, img: np.ndarray) -> InstanceData:
        return self.detect(img)

    def detect(self, img: np.ndarray) -> InstanceData:
        """The faces of one (H, W, 3) uint8 BGR image (see the class docstring)."""
        return self.detect_batch([img])[0]

    def detect_batch(self, imgs: Sequence[np.ndarray]) -> List[InstanceData]:
        """:meth:`detect` for several images (batched where the backend can)."""
        rgbs = [np.ascontiguousarray(check_image(img, type(self).__name__)[..., ::-1])
                for img in imgs]
        return [self._finish(*raw, img_shape=rgb.shape[:2])
                for raw, rgb in zip(self._detect_rgb_batch(rgbs), rgbs)]

    def _finish(self, bboxes: np.ndarray, scores: np.ndarray, kpts: Optional[np.ndarray],
                img_shape: Tuple[int, int]) -> InstanceData:
        bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        num = len(bboxes)
        if kpts is not None:
            kpts = np.asarray(kpts, np.float32)
            if kpts.ndim != 3 or kpts.shape[0] != num or kpts.shape[2] != 2:
                raise ValueError(f'{type(self).__name__}: landmarks of shape {kpts.shape} '
                                 f'for {num} boxes; expected ({num}, K, 2)')
        side = np.minimum(bboxes[:, 2] - bboxes[:, 0], bboxes[:, 3] - bboxes[:, 1])
        keep = np.flatnonzero((scores >= self.score_thr) & (side >= self.min_size))
        keep = keep[np.argsort(-scores[keep], kind='stable')]
        if self.max_faces is not None:
            keep = keep[:self.max_faces]
        res = InstanceData(metainfo=dict(img_shape=tuple(img_shape), detector=repr(self),
                                         keypoint_layout=self.keypoint_layout))
        res.bboxes = bboxes[keep]
        res.scores = scores[keep]
        res.keypoints5 = keypoints_to_5(None if kpts is None else kpts[keep],
                                        self.keypoint_layout, len(keep))
        if kpts is not None:
            res.keypoints = kpts[keep]
        return res


class DetectorBoxSource:
    """A detector as a box source ``(key, img) -> (4,) xyxy or None``: the best face's box.

    The signature of the landmark tool's box sources (``mmfer.apis`` ``BoxSource``), so a
    detector can give the face box of uncropped photos.

    Args:
        detector (BaseFaceDetector | dict | str): A detector or its config / name.
    """

    def __init__(self, detector: Union[BaseFaceDetector, dict, str]) -> None:
        self.detector = build_face_detector(detector)

    def __call__(self, key: str, img: np.ndarray) -> Optional[np.ndarray]:
        faces = self.detector.detect(img)
        return faces.bboxes[0].copy() if len(faces.bboxes) else None

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.detector!r})'


def build_face_detector(cfg: Union[BaseFaceDetector, dict, str], **kwargs) -> BaseFaceDetector:
    """A face detector from a name (``'dlib'``, ``'mtcnn'``), a config dict or an instance.

    Args:
        cfg (BaseFaceDetector | dict | str): e.g. ``'dlib'``,
            ``dict(type='dlib', model='cnn', upsample=0)``, ``dict(type='mtcnn')``.
        **kwargs: Extra arguments merged into a name / dict config.

    Raises:
        KeyError: unknown detector type (the message lists the registered ones).
        ImportError: the backend's package is missing (the message names the install line).
    """
    if isinstance(cfg, BaseFaceDetector):
        if kwargs:
            raise ValueError(f'cannot apply {kwargs} to an already built {cfg!r}')
        return cfg
    cfg = dict(type=cfg) if isinstance(cfg, str) else dict(cfg)
    cfg.update(kwargs)
    name = cfg.get('type')
    FACE_DETECTORS.import_from_location()
    if not isinstance(name, str) or FACE_DETECTORS.get(name) is None:
        names = sorted(k for k in FACE_DETECTORS.module_dict)
        raise KeyError(f'unknown face detector {name!r}; registered: {names}')
    return FACE_DETECTORS.build(cfg)
