# Copyright (c) mmfer contributors. All rights reserved.
import logging
from typing import Any, Dict, Optional, Sequence

from mmengine.logging import print_log

from mmfer.registry import METRICS
from .. import functional as FM
from .feature_metric import FeatureMetric


@METRICS.register_module()
class KNNAccuracy(FeatureMetric):
    """Weighted k-NN accuracy of the query set against the labelled bank (percent).

    Cosine similarity of frozen features, neighbours' votes weighted by ``exp(sim / T)``
    (InstDisc / mmselfsup protocol; :func:`mmfer.evaluation.knn_predict`). Needs a bank
    (:class:`FeatureMetric`). ContraWarping reports k = 10 and 30.

    Keys (prefix ``knn``): ``k=<k>/accuracy``, ``k=<k>/macro_f1``,
    ``k=<k>/mean_class_accuracy``, ``k=<k>/k``, ``k=<k>/temperature``,
    ``k=<k>/weighting``. A requested k larger than the bank is clamped to the bank size,
    logged, and reported under the k actually used (with ``k=<k>/k_requested``).

    Args:
        topk (Sequence[int]): Numbers of neighbours (positive). Defaults to (10, 30).
        temperature (float): T > 0. Defaults to 0.07.
        weighting (str): ``'exp'`` or ``'uniform'``. Defaults to ``'exp'``.
        num_classes (int, optional): Defaults to ``len(dataset_meta['classes'])``.
        collect_device (str): Unused by the loop (features are gathered already).
        prefix (str, optional): Defaults to ``'knn'``.
    """
    default_prefix: Optional[str] = 'knn'
    requires_bank = True

    def __init__(self,
                 topk: Sequence[int] = (10, 30),
                 temperature: float = 0.07,
                 weighting: str = 'exp',
                 num_classes: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = [topk] if isinstance(topk, int) else list(topk)
        if not topk or any(int(k) != k or k < 1 for k in topk):
            raise ValueError(f'KNNAccuracy: topk must be positive integers, got {topk}')
        if not temperature > 0:
            raise ValueError(f'KNNAccuracy: temperature must be > 0, got {temperature}')
        if weighting not in ('exp', 'uniform'):
            raise ValueError(f"KNNAccuracy: weighting must be 'exp' or 'uniform', got "
                             f'{weighting!r}')
        self.topk = [int(k) for k in topk]
        self.temperature = float(temperature)
        self.weighting = weighting
        self.num_classes = num_classes

    def compute(self, query: Dict[str, Any], bank: Optional[Dict[str, Any]] = None) -> dict:
        name = type(self).__name__
        bank_y = self._require(bank, 'gt_label', 'bank', name)
        query_y = self._require(query, 'gt_label', 'query', name)
        num_classes = self.num_classes or self._num_classes(bank_y, query_y)
        res = FM.knn_accuracy(bank['feats'], bank_y, query['feats'], query_y, self.topk,
                              self.temperature, self.weighting, num_classes)
        out = {}
        for k, r in res.items():
            if r['k_requested'] != k:
                print_log(f'{name}: k={r["k_requested"]} > bank size {len(bank_y)}; using '
                          f'k={k}', logger='current', level=logging.WARNING)
                out[f'k={k}/k_requested'] = r['k_requested']
            out.update({f'k={k}/accuracy': 100.0 * r['accuracy'],
                        f'k={k}/macro_f1': 100.0 * r['macro_f1'],
                        f'k={k}/mean_class_accuracy': 100.0 * r['mean_class_accuracy'],
                        f'k={k}/k': k, f'k={k}/temperature': self.temperature,
                        f'k={k}/weighting': self.weighting})
        return out
