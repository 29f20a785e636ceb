# Copyright (c) mmfer contributors. All rights reserved.
from typing import Any, Dict, Optional

from mmfer.registry import METRICS
from .. import functional as FM
from .feature_metric import FeatureMetric


@METRICS.register_module()
class IdentityNN(FeatureMetric):
    """Identity 1-NN accuracy within the query set (percent; leave-one-out, cosine).

    For every sample whose person appears at least twice: is its nearest *other* sample
    the same person (:func:`mmfer.evaluation.functional.identity_nn_accuracy`)? An
    expression representation should score low here, a face-recognition one high. The query
    samples must carry ``identity`` (e.g. ``ImageListDataset`` on the synthetic faces'
    ``meta.csv``).

    Keys (prefix ``identity_nn``): ``accuracy``, ``num_queries``.
    """
    default_prefix: Optional[str] = 'identity_nn'

    def compute(self, query: Dict[str, Any], bank: Optional[Dict[str, Any]] = None) -> dict:
        ids = self._require(query, 'identity', 'query', type(self).__name__)
        res = FM.identity_nn_accuracy(query['feats'], ids)
        return dict(accuracy=100.0 * res['accuracy'], num_queries=res['num_queries'])
