# Copyright (c) mmfer contributors. All rights reserved.
from .face_detection import (BaseFaceDetector, DetectorBoxSource,  # noqa: F401
                             DlibFaceDetector, MTCNNFaceDetector, align_folder,
                             build_face_detector, extract_frames, extract_frames_tree)

__all__ = [
    'BaseFaceDetector', 'DetectorBoxSource', 'DlibFaceDetector', 'MTCNNFaceDetector',
    'build_face_detector', 'align_folder', 'extract_frames', 'extract_frames_tree'
]
