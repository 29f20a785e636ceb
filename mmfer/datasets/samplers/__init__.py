# Copyright (c) mmfer contributors. All rights reserved.
from .video_frame_sampler import ClassBalancedSampler, VideoFrameSampler

__all__ = ['ClassBalancedSampler', 'VideoFrameSampler']
