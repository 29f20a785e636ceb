# Copyright (c) mmfer contributors. All rights reserved.
"""Face detection (registered backends: ``dlib``, ``mtcnn``) and bulk detect + align tools."""
from .base import (BaseFaceDetector, DetectorBoxSource, build_face_detector,
                   keypoints_to_5)
from .bulk import (align_folder, extract_frames, extract_frames_tree, list_files,
                   read_faces_csv, select_faces)
from .dlib_detector import DlibFaceDetector, dlib_model_file
from .mtcnn_detector import MTCNNFaceDetector

__all__ = [
    'BaseFaceDetector', 'DetectorBoxSource', 'build_face_detector', 'keypoints_to_5',
    'DlibFaceDetector', 'dlib_model_file', 'MTCNNFaceDetector', 'align_folder',
    'extract_frames', 'extract_frames_tree', 'list_files', 'read_faces_csv', 'select_faces'
]
