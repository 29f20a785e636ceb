# Copyright (c) mmfer contributors. All rights reserved.
"""dlib face detectors (HOG or MMOD CNN) with dlib's 68- or 5-point shape predictor."""
import importlib.util
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np

from mmfer.registry import FACE_DETECTORS
from .base import BaseFaceDetector

#: What ``pip install -e .[dlib]`` installs; named by the error when something is missing.
DLIB_INSTALL_HINT = ('the dlib face detector needs the [dlib] extra: `pip install -e .[dlib]` '
                     '(= `pip install dlib-bin face-recognition-models`; offline wheels, no '
                     'compiler)')

#: Model files of the ``face-recognition-models`` package.
DLIB_MODEL_FILES = {
    'cnn': 'mmod_human_face_detector.dat',
    '68': 'shape_predictor_68_face_landmarks.dat',
    '5': 'shape_predictor_5_face_landmarks.dat',
}


def dlib_model_file(kind: str) -> str:
    """Path of a ``face-recognition-models`` file (``'cnn'``, ``'68'`` or ``'5'``).

    The package is located without importing it (its ``__init__`` imports ``pkg_resources``).

    Raises:
        ImportError: the package or the file is missing (the message names the extra).
    """
    spec = importlib.util.find_spec('face_recognition_models')
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f'face-recognition-models is not installed: {DLIB_INSTALL_HINT}')
    path = osp.join(list(spec.submodule_search_locations)[0], 'models',
                    DLIB_MODEL_FILES[kind])
    if not osp.isfile(path):
        raise ImportError(f'{path} is missing (a broken face-recognition-models install?): '
                          f'{DLIB_INSTALL_HINT}')
    return path


def _import_dlib():
    try:
        import dlib
    except ImportError as e:
        raise ImportError(f'dlib is not installed: {DLIB_INSTALL_HINT}') from e
    return dlib


@FACE_DETECTORS.register_module(name=['DlibFaceDetector', 'dlib'])
class DlibFaceDetector(BaseFaceDetector):
    """dlib's frontal-face detector plus a shape predictor for the landmarks.

    Measured on ``skimage.data.astronaut()`` (512x512, one face; see README for timings): the
    HOG detector with ``upsample=1`` returns the face (score 1.16) and, at dlib's default
    threshold 0, a false positive on the suit (score 0.12); ``score_thr=0.5`` keeps only the
    face. The MMOD CNN detector finds only the face but is ~10x slower on CPU.

    Args:
        model (str): ``'hog'`` (default; dlib's HOG + linear SVM) or ``'cnn'`` (the MMOD CNN
            of ``face-recognition-models``).
        upsample (int): Times the image is upsampled before detection (finds faces smaller
            than ~80 px at 0, ~40 px at 1). Defaults to 1.
        landmarks (str, optional): ``'68'`` (default: the iBUG 300-W shape predictor; gives
            all 5 alignment points), ``'5'`` (dlib's 5-point model: eye corners and nose base,
            so only the eyes align) or None (boxes only; no alignment possible).
        score_thr (float): Minimum score (HOG: SVM margin, passed to dlib as its
            ``adjust_threshold``; CNN: MMOD confidence). Defaults to 0.0, dlib's default.
        max_faces (int, optional): Keep at most this many faces.
        min_size (float): Minimum box side in pixels. Defaults to 0.
    """

    install_hint = DLIB_INSTALL_HINT

    def __init__(self, model: str = 'hog', upsample: int = 1, landmarks: Optional[str] = '68',
                 score_thr: float = 0.0, max_faces: Optional[int] = None,
                 min_size: float = 0.0) -> None:
        super().__init__(score_thr=score_thr, max_faces=max_faces, min_size=min_size)
        if model not in ('hog', 'cnn'):
            raise ValueError(f"DlibFaceDetector: model must be 'hog' or 'cnn', got {model!r}")
        landmarks = None if landmarks is None else str(landmarks)
        if landmarks not in ('68', '5', None):
            raise ValueError(f"DlibFaceDetector: landmarks must be '68', '5' or None, got "
                             f'{landmarks!r}')
        if int(upsample) < 0:
            raise ValueError(f'DlibFaceDetector: upsample must be >= 0, got {upsample}')
        self.model = model
        self.upsample = int(upsample)
        self.landmarks = landmarks
        self._build()

    def _build(self) -> None:
        dlib = _import_dlib()
        self._dlib = dlib
        if self.model == 'hog':
            self._detector = dlib.get_frontal_face_detector()
        else:
            self._detector = dlib.cnn_face_detection_model_v1(dlib_model_file('cnn'))
        self._predictor = (None if self.landmarks is None else
                           dlib.shape_predictor(dlib_model_file(self.landmarks)))

    # dlib objects do not pickle (DataLoader workers): rebuild them from the arguments
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items()
                if k not in ('_dlib', '_detector', '_predictor')}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._build()

    @property
    def keypoint_layout(self) -> Optional[str]:
        return {'68': 'ibug68', '5': 'dlib5', None: None}[self.landmarks]

    def _rects(self, rgb: np.ndarray) -> Tuple[list, List[float]]:
        if self.model == 'hog':
            rects, scores, _ = self._detector.run(rgb, self.upsample, self.score_thr)
            return list(rects), [float(s) for s in scores]
        dets = self._detector(rgb, self.upsample)
        return [d.rect for d in dets], [float(d.confidence) for d in dets]

    def _detect_rgb(self, rgb: np.ndarray
                    ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        rects, scores = self._rects(rgb)
        # dlib rectangles are inclusive: right/bottom are the last pixel inside the box
        boxes = np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects],
                         np.float32).reshape(-1, 4)
        kpts = None
        if self._predictor is not None:
            n = 68 if self.landmarks == '68' else 5
            kpts = np.array([[(p.x, p.y) for p in self._predictor(rgb, r).parts()]
                             for r in rects], np.float32).reshape(-1, n, 2)
        return boxes, np.array(scores, np.float32), kpts

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(model={self.model!r}, upsample={self.upsample}, '
                f'landmarks={self.landmarks!r}, score_thr={self.score_thr})')
