# Copyright (c) mmfer contributors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmfer.registry import METRICS
from .. import functional as FM
from ..functional import get_field, to_numpy


@METRICS.register_module()
class TripletAccuracy(BaseMetric):
    """FEC triplet prediction accuracy with l2 and/or cosine distances (percent).

    Every data sample holds ``pred_key``: (3, D) embeddings of the triplet's images and
    ``gt_key``: the 0-based index of the annotated odd one out. A triplet is correct when
    the two closest embeddings are the two non-odd images. Also reports accuracy per
    ``triplet_type`` (``one_class`` / ``two_class`` / ``three_class``) when samples carry it.

    Keys: ``accuracy_l2``, ``accuracy_cosine`` (+ ``accuracy_<metric>_<type>``, e.g. ``accuracy_l2_one_class``: a flat
    name, so that the overall accuracy and the per-type ones nest side by side in ``metrics.json``).

    Args:
        distances (Sequence[str]): Distances, from ``('l2', 'cosine')``. (Not named
            ``metrics``: mmengine reads an evaluator config with a ``metrics`` key as an
            ``Evaluator``.)
        pred_key (str): Defaults to ``'pred_embeddings'``.
        gt_key (str): Defaults to ``'gt_label'``.
        collect_device (str): 'cpu' or 'gpu'.
        prefix (str, optional): Defaults to ``'fec'``.
    """
    default_prefix: Optional[str] = 'fec'

    def __init__(self,
                 distances: Sequence[str] = ('l2', 'cosine'),
                 pred_key: str = 'pred_embeddings',
                 gt_key: str = 'gt_label',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        for m in distances:
            if m not in ('l2', 'cosine'):
                raise ValueError(f"TripletAccuracy: unknown distance {m!r} (l2, cosine)")
        self.distances = tuple(distances)
        self.pred_key, self.gt_key = pred_key, gt_key

    def process(self, data_batch, data_samples: Sequence) -> None:
        name = type(self).__name__
        for sample in data_samples:
            emb = to_numpy(get_field(sample, self.pred_key, name)).astype(np.float64)
            if emb.ndim != 2 or emb.shape[0] != 3:
                raise ValueError(f'{name}: {self.pred_key} must be (3, D), got {emb.shape}')
            odd = int(to_numpy(get_field(sample, self.gt_key, name)).reshape(-1)[0])
            try:
                ttype = str(get_field(sample, 'triplet_type', name))
            except KeyError:
                ttype = None
            self.results.append((emb, odd, ttype))

    def compute_metrics(self, results: list) -> dict:
        emb = np.stack([r[0] for r in results])
        odd = np.array([r[1] for r in results])
        types = np.array([r[2] or '' for r in results])
        out = {}
        for m in self.distances:
            pred = FM.triplet_predict_odd(emb[:, 0], emb[:, 1], emb[:, 2], m)
            out[f'accuracy_{m}'] = 100.0 * float((pred == odd).mean())
            for t in sorted(set(types) - {''}):
                sel = types == t
                out[f'accuracy_{m}_{t}'] = 100.0 * float((pred[sel] == odd[sel]).mean())
        return out
