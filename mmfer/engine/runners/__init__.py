# Copyright (c) mmfer contributors. All rights reserved.
from .fer_runner import FERRunner
from .frozen_feature_loop import FrozenFeatureTestLoop, feature_samples

__all__ = ['FERRunner', 'FrozenFeatureTestLoop', 'feature_samples']
