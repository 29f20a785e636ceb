# Copyright (c) mmfer contributors. All rights reserved.
"""MTCNN (Zhang et al. 2016) from ``facenet-pytorch``: boxes and the 5 alignment points."""
from collections import defaultdict
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmfer.registry import FACE_DETECTORS
from .base import BaseFaceDetector

#: facenet-pytorch 2.6.0's wheel ships the P/R/O-Net weights (``facenet_pytorch/data/*.pt``)
#: but pins torch<2.3, torchvision<0.18, numpy<2 and Pillow<10.3: installed with --no-deps it
#: runs on mmfer's torch/numpy (measured: torch 2.14.1, numpy 2.4.6). ``requests`` is
#: imported by its ``__init__``.
MTCNN_INSTALL_HINT = ('the mtcnn face detector needs facenet-pytorch (its wheel ships the '
                      'MTCNN weights): `pip install --no-deps facenet-pytorch==2.6.0 requests` '
                      '(--no-deps: its wheel pins torch<2.3 and numpy<2, which would replace '
                      "mmfer's; tools/install.sh does this)")


def _import_mtcnn():
    try:
        from facenet_pytorch import MTCNN
    except ImportError as e:
        raise ImportError(f'{e}: {MTCNN_INSTALL_HINT}') from e
    return MTCNN


@FACE_DETECTORS.register_module(name=['MTCNNFaceDetector', 'mtcnn'])
class MTCNNFaceDetector(BaseFaceDetector):
    """facenet-pytorch's MTCNN: face boxes, probabilities and the 5 alignment points.

    Same-size images are detected in one batch. The 5 points are MTCNN's own (eye centres,
    nose tip, mouth corners), in the order :mod:`~mmfer.datasets.transforms.align_face` uses.

    Args:
        min_face_size (int): Smallest face searched, in pixels. Defaults to 20.
        thresholds (Sequence[float]): P-, R-, O-Net thresholds. Defaults to (0.6, 0.7, 0.7),
            MTCNN's.
        factor (float): Image-pyramid scale step. Defaults to 0.709.
        device (str): Torch device of the three nets. Defaults to ``'cpu'``.
        score_thr (float): Minimum face probability on top of ``thresholds``. Defaults to 0.
        max_faces (int, optional): Keep at most this many faces.
        min_size (float): Minimum box side in pixels. Defaults to 0.
    """

    install_hint = MTCNN_INSTALL_HINT

    def __init__(self, min_face_size: int = 20, thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709, device: str = 'cpu', score_thr: float = 0.0,
                 max_faces: Optional[int] = None, min_size: float = 0.0) -> None:
        super().__init__(score_thr=score_thr, max_faces=max_faces, min_size=min_size)
        self.min_face_size = int(min_face_size)
        self.thresholds = [float(t) for t in thresholds]
        self.factor = float(factor)
        self.device = str(device)
        mtcnn = _import_mtcnn()
        self._mtcnn = mtcnn(min_face_size=self.min_face_size, thresholds=self.thresholds,
                            factor=self.factor, keep_all=True, device=self.device).eval()

    @property
    def keypoint_layout(self) -> Optional[str]:
        return 'five'

    @staticmethod
    def _unpack(boxes, probs, points) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        if boxes is None:
            return (np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                    np.zeros((0, 5, 2), np.float32))
        return (np.asarray(boxes, np.float32).reshape(-1, 4),
                np.asarray(probs, np.float32).reshape(-1),
                np.asarray(points, np.float32).reshape(-1, 5, 2))

    def _detect_rgb(self, rgb: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._detect_rgb_batch([rgb])[0]

    def _detect_rgb_batch(self, rgbs: Sequence[np.ndarray]) -> List[tuple]:
        import torch
        groups = defaultdict(list)
        for i, rgb in enumerate(rgbs):
            groups[rgb.shape].append(i)
        out: List[Optional[tuple]] = [None] * len(rgbs)
        with torch.no_grad():
            for idx in groups.values():
                boxes, probs, points = self._mtcnn.detect([rgbs[i] for i in idx],
                                                          landmarks=True)
                for j, i in enumerate(idx):
                    out[i] = self._unpack(boxes[j], probs[j], points[j])
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_face_size={self.min_face_size}, '
                f'thresholds={self.thresholds}, device={self.device!r}, '
                f'score_thr={self.score_thr})')
