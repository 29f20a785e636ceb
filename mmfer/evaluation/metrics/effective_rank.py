# Copyright (c) mmfer contributors. All rights reserved.
from typing import Any, Dict, Optional

from mmfer.registry import METRICS
from .. import functional as FM
from .feature_metric import FeatureMetric


@METRICS.register_module()
class EffectiveRank(FeatureMetric):
    """How many dimensions the query features use (a dimensional-collapse monitor).

    :func:`mmfer.evaluation.functional.effective_rank`: ``effective_rank`` = exp of the
    entropy of the normalised singular values (RankMe) and ``num_components`` = principal
    components explaining ``variance`` of the variance; ``dim`` = D.

    Keys (prefix ``feature_rank``): ``effective_rank``, ``pcs_<variance %>``, ``dim``.

    Args:
        variance (float): Share of the variance for the PC count. Defaults to 0.9.
    """
    default_prefix: Optional[str] = 'feature_rank'

    def __init__(self, variance: float = 0.9, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0 < variance <= 1:
            raise ValueError(f'EffectiveRank: variance must be in (0, 1], got {variance}')
        self.variance = variance

    def compute(self, query: Dict[str, Any], bank: Optional[Dict[str, Any]] = None) -> dict:
        res = FM.effective_rank(query['feats'], self.variance)
        return {'effective_rank': res['effective_rank'],
                f'pcs_{round(100 * self.variance)}': res['num_components'],
                'dim': res['dim']}
