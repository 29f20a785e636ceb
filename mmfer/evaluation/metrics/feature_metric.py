# Copyright (c) mmfer contributors. All rights reserved.
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from ..functional import get_field, to_numpy

#: Per-sample fields a FeatureMetric keeps from each query sample (``feat`` is required).
QUERY_FIELDS = ('gt_label', 'identity')


def stack_feature_samples(samples: Sequence[Any], metric: str = 'FeatureMetric'
                          ) -> Dict[str, Any]:
    """A feature set (``feats`` (N, D), ``gt_label`` (N,), ``identity``) from samples.

    Each sample is a dict or a DataSample with ``feat`` (D,) and optionally ``gt_label`` /
    ``identity``; a field is kept when every sample has it.
    """
    if not samples:
        raise ValueError(f'{metric}: no samples were evaluated')
    out: Dict[str, Any] = dict(feats=torch.stack([
        torch.as_tensor(to_numpy(get_field(s, 'feat', metric)), dtype=torch.float32).reshape(-1)
        for s in samples]))
    for key in QUERY_FIELDS:
        values = []
        for s in samples:
            try:
                values.append(get_field(s, key, metric))
            except KeyError:
                values = None
                break
        if values is None:
            continue
        if all(np.size(to_numpy(v)) == 1 and np.issubdtype(to_numpy(v).dtype, np.integer)
               for v in values):
            values = torch.tensor([int(to_numpy(v).reshape(-1)[0]) for v in values])
        out[key] = values
    return out


class FeatureMetric(BaseMetric):
    """Base class of the metrics on frozen features (the interface of FrozenFeatureTestLoop).

    Query samples (``process``) are dicts or DataSamples with ``feat`` (D,) and, as the
    metric needs, ``gt_label`` and ``identity``. A metric that compares the query set with a
    labelled *bank* (k-NN's neighbours, the linear probe's training set) sets
    ``requires_bank = True`` and receives the bank, a feature set as returned by
    :func:`mmfer.evaluation.extract_features` (``feats`` (N, D), ``gt_label`` (N,),
    optional ``identity``), through :meth:`set_bank` before ``compute_metrics`` runs.

    Subclasses implement :meth:`compute` (pure: two feature sets in, metrics out, values in
    percent), so that a hook holding features can call it directly without samples.

    :class:`mmfer.engine.FrozenFeatureTestLoop` extracts the bank and query features,
    gathers them on rank 0, calls ``set_bank``, ``process`` and ``compute_metrics`` there
    and broadcasts the result.
    """
    requires_bank: bool = False

    def __init__(self, collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.bank: Optional[Dict[str, Any]] = None

    def set_bank(self, bank: Optional[Dict[str, Any]]) -> None:
        """Hand over the bank feature set (None to forget it)."""
        self.bank = bank

    def process(self, data_batch, data_samples: Sequence) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results: list) -> dict:
        name = type(self).__name__
        query = stack_feature_samples(results, name)
        if self.requires_bank and self.bank is None:
            raise ValueError(f'{name} compares the query set with a labelled bank: run it '
                             'with FrozenFeatureTestLoop(bank_dataloader=...) or call '
                             'set_bank() first')
        return self.compute(query, self.bank)

    def compute(self, query: Dict[str, Any], bank: Optional[Dict[str, Any]] = None) -> dict:
        """Metrics of the query feature set (and the bank); values in percent."""
        raise NotImplementedError

    def _num_classes(self, *labels) -> int:
        classes = (self.dataset_meta or {}).get('classes')
        if classes:
            return len(classes)
        return int(max(int(torch.as_tensor(y).max()) for y in labels)) + 1

    @staticmethod
    def _require(feature_set: Dict[str, Any], key: str, what: str, metric: str):
        if key not in feature_set:
            raise KeyError(f'{metric}: the {what} samples have no {key!r}; use a dataset '
                           f'whose items carry {key!r} (e.g. ImageListDataset with a '
                           f'{key} column)')
        return feature_set[key]
