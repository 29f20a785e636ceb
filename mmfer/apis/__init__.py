# Copyright (c) mmfer contributors. All rights reserved.
from .face_boxes import (BoxFile, BoxSource, FirstBox, WholeImageBox,  # noqa: F401
                         build_box_source, read_bbox_file)
from .face_landmark_inferencer import (FAILURES, FaceLandmarkInferencer,  # noqa: F401
                                       flag_landmarks, list_face_images)
from .landmark_backends import (HRNET_300W_CHECKPOINT, MMPOSE_300W_CONFIG,  # noqa: F401
                                NUM_KEYPOINTS, DlibPredictor, TopdownBatchPredictor,
                                build_topdown_model, dlib_model_path,
                                import_mmpose_inference, keep_default_scope)
from .landmark_writer import LandmarkFileWriter  # noqa: F401
from .face_detection import (BaseFaceDetector, DetectorBoxSource,  # noqa: F401
                             DlibFaceDetector, MTCNNFaceDetector, align_folder,
                             build_face_detector, extract_frames, extract_frames_tree)
from .face_tracking import IoUTracker, TrackSmoother  # noqa: F401
from .fer_model import (DATASET_FACES, detector_cfg, face_preparation,  # noqa: F401
                        load_fer_model, model_task, output_names)
from .fer_inferencer import FERInferencer, PredictionCSV  # noqa: F401

__all__ = [
    'FaceLandmarkInferencer', 'flag_landmarks', 'list_face_images', 'FAILURES', 'BoxFile',
    'BoxSource', 'FirstBox', 'WholeImageBox', 'build_box_source', 'read_bbox_file',
    'HRNET_300W_CHECKPOINT', 'MMPOSE_300W_CONFIG', 'NUM_KEYPOINTS', 'DlibPredictor',
    'TopdownBatchPredictor', 'build_topdown_model', 'dlib_model_path',
    'import_mmpose_inference', 'keep_default_scope', 'LandmarkFileWriter',
    'BaseFaceDetector', 'DetectorBoxSource', 'DlibFaceDetector', 'MTCNNFaceDetector',
    'build_face_detector', 'align_folder', 'extract_frames', 'extract_frames_tree',
    'FERInferencer', 'IoUTracker', 'TrackSmoother', 'PredictionCSV', 'DATASET_FACES',
    'face_preparation', 'load_fer_model', 'model_task', 'output_names', 'detector_cfg'
]
