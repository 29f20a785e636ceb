# Copyright (c) mmfer contributors. All rights reserved.
"""Dump a classifier's per-sample predictions for offline analysis (``tools/test.py --dump``)."""
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmfer.registry import METRICS

#: Per-sample tensor fields kept (when the data samples have them).
TENSOR_KEYS = ('pred_score', 'pred_label', 'gt_label', 'pred_va', 'gt_va', 'gt_score',
               'au_mask')
#: Per-sample metainfo kept.
META_KEYS = ('img_path', 'video', 'frame')


@METRICS.register_module()
class DumpPredictions(BaseMetric):
    """Write every test sample's prediction to a torch file, as mmpretrain's
    ``tools/test.py --out preds.pkl --out-item pred`` (mmengine ``DumpResults``) does, but
    without pickled objects: the file holds tensors, lists of strings and numbers only, so
    it loads with ``weights_only=True`` (:func:`mmfer.utils.load_checkpoint_file`).

    File content (N samples in dataset order): ``sample_idx`` (N,) and, when present,
    ``pred_score`` (N, C) (softmax / sigmoid scores), ``pred_label`` (N,), ``gt_label`` (N,),
    ``pred_va`` / ``gt_va`` (N, 2), ``gt_score`` / ``au_mask`` (N, C) (AUs), ``img_path``,
    ``video``, ``frame`` (lists), plus ``classes`` (the dataset's class or AU names).
    ``tools/analysis_tools/analyze_results.py`` reads it.

    Args:
        out_file_path (str): A ``.pth`` / ``.pt`` file.
        collect_device (str): ``'cpu'`` or ``'gpu'`` (gathering across ranks).
        collect_dir (str, optional): Temporary folder of ``'cpu'`` gathering.
    """

    default_prefix = 'dump'

    def __init__(self, out_file_path: str, collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, collect_dir=collect_dir)
        if not str(out_file_path).endswith(('.pth', '.pt')):
            raise ValueError(f'DumpPredictions: the output must be a .pth or .pt file, got '
                             f'{out_file_path}')
        self.out_file_path = str(out_file_path)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            keep: Dict[str, Any] = {}
            for key in TENSOR_KEYS:
                if sample.get(key) is not None:
                    keep[key] = torch.as_tensor(sample[key]).detach().cpu()
            for key in META_KEYS + ('sample_idx', ):
                if sample.get(key) is not None:
                    keep[key] = sample[key]
            self.results.append(keep)

    def compute_metrics(self, results: List[dict]) -> dict:
        if results and all('sample_idx' in r for r in results):
            results = sorted(results, key=lambda r: int(r['sample_idx']))
        out: Dict[str, Any] = dict(sample_idx=torch.tensor(
            [int(r.get('sample_idx', i)) for i, r in enumerate(results)]))
        for key in TENSOR_KEYS:
            if results and all(key in r for r in results):
                values = [r[key].reshape(-1) for r in results]
                out[key] = torch.stack(values) if values[0].numel() > 1 or key in (
                    'pred_score', 'pred_va', 'gt_va', 'gt_score', 'au_mask') else \
                    torch.cat(values)
        for key in META_KEYS:
            if results and all(key in r for r in results):
                out[key] = [r[key] if isinstance(r[key], (int, float)) else str(r[key])
                            for r in results]
        meta = self.dataset_meta or {}
        names = meta.get('classes') or meta.get('au_names')
        out['classes'] = [str(c) for c in names] if names else []
        torch.save(out, self.out_file_path)
        print_log(f'predictions of {len(results)} samples written to {self.out_file_path}',
                  logger='current')
        return {}
