# Copyright (c) mmfer contributors. All rights reserved.
from .au_f1_metric import AUF1Metric
from .fer_cls_metric import FERClsMetric
from .triplet_accuracy import TripletAccuracy
from .va_metric import VAMetric

__all__ = ['FERClsMetric', 'VAMetric', 'AUF1Metric', 'TripletAccuracy']
