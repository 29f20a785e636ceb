# Copyright (c) mmfer contributors. All rights reserved.
from .au_f1_metric import AUF1Metric
from .dump_predictions import DumpPredictions
from .effective_rank import EffectiveRank
from .feature_metric import FeatureMetric, stack_feature_samples
from .fer_cls_metric import FERClsMetric
from .identity_nn import IdentityNN
from .knn_accuracy import KNNAccuracy
from .linear_probe_metric import LinearProbe
from .triplet_accuracy import TripletAccuracy
from .va_metric import VAMetric

__all__ = [
    'FERClsMetric', 'VAMetric', 'AUF1Metric', 'TripletAccuracy', 'FeatureMetric',
    'stack_feature_samples', 'KNNAccuracy', 'LinearProbe', 'IdentityNN', 'EffectiveRank',
    'DumpPredictions'
]
