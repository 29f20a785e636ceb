# Copyright (c) mmfer contributors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmfer.registry import METRICS
from .. import functional as FM
from ..functional import get_field, to_numpy


@METRICS.register_module()
class AUF1Metric(BaseMetric):
    """Action-unit detection: per-AU binary F1 (multi-label) and their average (percent).

    Every data sample holds ``pred_key`` (A,) scores/probabilities (positive where
    ``>= threshold``) and ``gt_key`` (A,) with 1 / 0 and negative values (``-1``) for
    unknown labels; an optional ``mask_key`` (A,) marks known labels (True = known).
    Unknown entries are excluded per AU (:func:`mmfer.evaluation.multilabel_f1`).

    Keys: ``f1/<AU name>`` for every AU and ``f1/mean`` (the ABAW AU score, in percent).

    Args:
        threshold (float): Decision threshold on the scores. Defaults to 0.5.
        au_names (Sequence[str], optional): Names; default ``dataset_meta['classes']`` or
            ``AU<i>``.
        pred_key (str): Defaults to ``'pred_score'`` (mmpretrain multi-label heads).
        gt_key (str): Defaults to ``'gt_score'``.
        mask_key (str, optional): Defaults to None (only ``gt < 0`` marks unknown).
        collect_device (str): 'cpu' or 'gpu'.
        prefix (str, optional): Defaults to ``'au'``.
    """
    default_prefix: Optional[str] = 'au'

    def __init__(self,
                 threshold: float = 0.5,
                 au_names: Optional[Sequence[str]] = None,
                 pred_key: str = 'pred_score',
                 gt_key: str = 'gt_score',
                 mask_key: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.threshold = threshold
        self.au_names = tuple(au_names) if au_names is not None else None
        self.pred_key, self.gt_key, self.mask_key = pred_key, gt_key, mask_key

    def process(self, data_batch, data_samples: Sequence) -> None:
        name = type(self).__name__
        for sample in data_samples:
            pred = to_numpy(get_field(sample, self.pred_key, name)).astype(np.float64)
            gt = to_numpy(get_field(sample, self.gt_key, name)).astype(np.float64)
            mask = None
            if self.mask_key is not None:
                mask = to_numpy(get_field(sample, self.mask_key, name)).astype(bool)
                mask = mask.reshape(-1)
            self.results.append((pred.reshape(-1), gt.reshape(-1), mask))

    def compute_metrics(self, results: list) -> dict:
        pred = np.stack([r[0] for r in results])
        gt = np.stack([r[1] for r in results])
        mask = None
        if self.mask_key is not None:
            mask = np.stack([r[2] for r in results])
        f1 = FM.multilabel_f1(pred, gt, threshold=self.threshold, mask=mask)
        names = self.au_names
        if names is None and self.dataset_meta is not None:
            names = self.dataset_meta.get('classes')
        if names is None or len(names) != f1.shape[0]:
            names = [f'AU{i}' for i in range(f1.shape[0])]
        metrics = {f'f1/{n}': 100.0 * float(v) for n, v in zip(names, f1)}
        metrics['f1/mean'] = 100.0 * float(f1.mean())
        return metrics
