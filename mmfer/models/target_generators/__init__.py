# Copyright (c) mmfer contributors. All rights reserved.
from .eye_mouth_descriptor import EyeMouthDescriptor, top_similar_samples  # noqa: F401
