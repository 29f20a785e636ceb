# Copyright (c) mmfer contributors. All rights reserved.
from .landmark_io import NUM_FACE_LANDMARKS, load_landmarks, save_landmarks
from .transforms import *  # noqa: F401,F403
