# Copyright (c) mmfer contributors. All rights reserved.
from typing import Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmfer.registry import METRICS
from .. import functional as FM
from ..functional import get_field, to_numpy


@METRICS.register_module()
class VAMetric(BaseMetric):
    """Valence / arousal regression: CCC and RMSE of each dimension and their means.

    Every data sample holds ``pred_key`` and ``gt_key`` (2,) = (valence, arousal) (any
    tensor/array; more columns are allowed if ``names`` lists them). Ground-truth values
    outside ``valid_range`` (e.g. ABAW's ``-5`` = not annotated) are ignored per dimension
    and their number is logged.

    Keys: ``ccc/valence``, ``ccc/arousal``, ``ccc/mean`` (the ABAW VA score), ``rmse/...``.

    Args:
        pred_key (str): Prediction field. Defaults to ``'pred_va'``.
        gt_key (str): Ground-truth field. Defaults to ``'gt_va'``.
        names (Sequence[str]): Names of the columns. Defaults to (valence, arousal).
        valid_range (tuple): Inclusive range of valid ground truth. Defaults to (-1, 1).
        collect_device (str): 'cpu' or 'gpu'.
        prefix (str, optional): Defaults to ``'va'``.
    """
    default_prefix: Optional[str] = 'va'

    def __init__(self,
                 pred_key: str = 'pred_va',
                 gt_key: str = 'gt_va',
                 names: Sequence[str] = ('valence', 'arousal'),
                 valid_range: Tuple[float, float] = (-1.0, 1.0),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_key, self.gt_key = pred_key, gt_key
        self.names = tuple(names)
        self.valid_range = valid_range

    def process(self, data_batch, data_samples: Sequence) -> None:
        name = type(self).__name__
        for sample in data_samples:
            pred = to_numpy(get_field(sample, self.pred_key, name)).astype(np.float64)
            gt = to_numpy(get_field(sample, self.gt_key, name)).astype(np.float64)
            pred, gt = pred.reshape(-1), gt.reshape(-1)
            if pred.shape != (len(self.names), ) or gt.shape != (len(self.names), ):
                raise ValueError(f'{name}: {self.pred_key} and {self.gt_key} must have '
                                 f'{len(self.names)} values {self.names}, got '
                                 f'{pred.shape} and {gt.shape}')
            self.results.append((pred, gt))

    def compute_metrics(self, results: list) -> dict:
        pred = np.stack([r[0] for r in results])
        gt = np.stack([r[1] for r in results])
        lo, hi = self.valid_range
        metrics = {}
        cccs, rmses = [], []
        for j, dim in enumerate(self.names):
            valid = (gt[:, j] >= lo) & (gt[:, j] <= hi)
            if (~valid).any():
                print_log(f'VAMetric: ignoring {int((~valid).sum())} of {len(valid)} '
                          f'{dim} labels outside {self.valid_range}', logger='current')
            if not valid.any():
                raise ValueError(f'VAMetric: no valid {dim} label to evaluate')
            cccs.append(FM.ccc(pred[valid, j], gt[valid, j]))
            rmses.append(FM.rmse(pred[valid, j], gt[valid, j]))
            metrics[f'ccc/{dim}'] = cccs[-1]
            metrics[f'rmse/{dim}'] = rmses[-1]
        metrics['ccc/mean'] = float(np.mean(cccs))
        metrics['rmse/mean'] = float(np.mean(rmses))
        return metrics
