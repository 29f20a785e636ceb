# Copyright (c) mmfer contributors. All rights reserved.
from .landmark_io import NUM_FACE_LANDMARKS, load_landmarks, save_landmarks
from .transforms import *  # noqa: F401,F403
from .affwild2 import AffWild2AU, AffWild2Expr, AffWild2VA  # noqa: F401
from .samplers import *  # noqa: F401,F403
from .au_list import AUListDataset, read_au_list  # noqa: F401
from .face_folder import FaceFolderDataset  # noqa: F401
from .recordio import RecordIOReader, RecordIOWriter  # noqa: F401
from .recordio_backend import RecordIOBackend  # noqa: F401
from .ms1m import MS1MRecordIO  # noqa: F401
from .video_frames import VideoFrameIndex, VoxCelebFrames  # noqa: F401
from .rafdb import RAFDB  # noqa: F401
from .affectnet import AffectNet  # noqa: F401
from .fer2013 import FER2013  # noqa: F401
from .fec import FEC  # noqa: F401
from .label_mapping import LabelMapping, canonical_expression, remap_labels  # noqa: F401
from .synthetic import SyntheticFaceDataset, SyntheticFaceVideoDataset  # noqa: F401
from .image_list import ImageListDataset  # noqa: F401
