# Copyright (c) mmfer contributors. All rights reserved.
import copy
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Union

import torch
from mmengine.dist import get_dist_info
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from torch.utils.data import DataLoader

from mmfer.evaluation.feature_cache import FeatureCache
from mmfer.evaluation.features import dataset_fields, extract_features
from mmfer.registry import LOOPS
from mmfer.utils.dist import run_on_main_rank


def _force_test_mode(cfg: Any) -> Any:
    """Set ``test_mode=True`` on a dataset config (and the datasets of wrappers)."""
    if isinstance(cfg, dict):
        if cfg.get('test_mode') is False:
            print_log(f'{cfg.get("type")}: test_mode=False overridden: evaluation datasets '
                      'are built with test_mode=True (a missing image is an error, never '
                      'replaced by another one)', logger='current', level=logging.WARNING)
        if 'type' in cfg:
            cfg['test_mode'] = True
        for key in ('dataset', 'datasets'):
            if key in cfg:
                inner = cfg[key]
                for d in (inner if isinstance(inner, list) else [inner]):
                    _force_test_mode(d)
    return cfg


def feature_samples(features: Dict[str, Any], dataset) -> List[dict]:
    """The query samples the metrics process, from a feature set.

    One dict per image (``feat`` (D,), ``gt_label``, ``identity``, ``img_path``, as far as
    the feature set has them) -- or, when ``dataset.groups()`` describes samples made of
    several images (``ImageListDataset(source=FEC)``), one dict per group with
    ``pred_embeddings`` (K, D) = the features of its images and the group's fields
    (``gt_label``, ``triplet_type``, ...), which is what ``TripletAccuracy`` reads.
    """
    feats = features['feats']
    groups = dataset.groups() if callable(getattr(dataset, 'groups', None)) else None
    if groups is not None:
        return [dict(pred_embeddings=feats[torch.as_tensor(g['indices'])],
                     **{k: v for k, v in g.items() if k != 'indices'}) for g in groups]
    keys = [k for k in ('gt_label', 'identity', 'img_path') if k in features]
    return [dict(feat=feats[i], **{k: features[k][i] for k in keys})
            for i in range(feats.shape[0])]


@LOOPS.register_module()
class FrozenFeatureTestLoop(TestLoop):
    """Test loop for frozen-feature evaluation: k-NN, linear probe, FEC triplets, ...

    Follows mmpretrain's ``RetrievalTestLoop``: features are computed through the model's own
    ``data_preprocessor`` and ``extract_feat`` (pooled to (N, D) by
    :func:`mmfer.evaluation.pool_features`), here for two sets:

    - the **bank** (``bank_dataloader``; e.g. RAF-DB's training split): the labelled
      neighbours of k-NN and the training set of the linear probe;
    - the **query** set (the runner's ``test_dataloader``; e.g. RAF-DB's test split).

    How metrics receive the features: under ``torchrun`` every rank extracts its shard and
    the shards are gathered to rank 0 only (:func:`mmfer.evaluation.extract_features`).
    Rank 0 then, for every metric of ``test_evaluator``: hands the bank feature set over
    with ``metric.set_bank(bank)`` when the metric has that method (the
    :class:`mmfer.evaluation.FeatureMetric` interface: ``KNNAccuracy``, ``LinearProbe``,
    ``IdentityNN``, ``EffectiveRank``), feeds the query samples of
    :func:`feature_samples` to ``metric.process`` and calls ``metric.compute_metrics``;
    the metrics are broadcast to the other ranks. A query dataset whose items are groups of
    images (``ImageListDataset(source=dict(type='FEC', ...))``) is extracted once per unique
    image and evaluated per group (``TripletAccuracy``). Besides the metrics' keys the loop
    reports ``num_query``, ``num_bank`` and ``feature_dim``.

    Both datasets are built with ``test_mode=True``: a pipeline that returns None (e.g.
    ``LoadFaceImage(ignore_empty=True)`` on a missing file) is an error, never a
    substitution of another image under the original label.

    Features are cached in ``cache_dir`` (:class:`mmfer.evaluation.FeatureCache`: keyed on a
    SHA-256 of the loaded weights, the model and dataset/pipeline configs and every image
    file's path, size and mtime; the log says why an entry is or is not reused).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The query set (``test_dataloader``).
        evaluator (Evaluator | dict | list): The metrics (``test_evaluator``).
        bank_dataloader (DataLoader | dict, optional): The bank; required by metrics with
            ``requires_bank`` (k-NN, linear probe).
        cache (bool): Read and write the feature cache. Defaults to True.
        cache_dir (str, optional): Defaults to ``<work_dir>/feature_cache``.
        fp16 (bool): Extract under autocast. Defaults to False.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 bank_dataloader: Union[DataLoader, Dict, None] = None,
                 cache: bool = True,
                 cache_dir: Optional[str] = None,
                 fp16: bool = False) -> None:
        self._data_cfgs: Dict[str, Any] = {}
        super().__init__(runner, self._prepare(dataloader, 'query'), evaluator, fp16)
        self.bank_dataloader = None
        if bank_dataloader is not None:
            bank_dataloader = self._prepare(bank_dataloader, 'bank')
            self.bank_dataloader = (runner.build_dataloader(bank_dataloader, seed=runner.seed)
                                    if isinstance(bank_dataloader, dict) else bank_dataloader)
        need = [type(m).__name__ for m in self.evaluator.metrics
                if getattr(m, 'requires_bank', False)]
        if need and self.bank_dataloader is None:
            raise ValueError(f'{", ".join(need)} compare the test set with a labelled bank: '
                             'give test_cfg.bank_dataloader (e.g. the training split)')
        self.cache = cache
        self.cache_dir = cache_dir

    def _prepare(self, dataloader, name: str):
        if isinstance(dataloader, dict):
            dataloader = copy.deepcopy(dataloader)
            _force_test_mode(dataloader.get('dataset'))
            self._data_cfgs[name] = dataloader.get('dataset')
        else:
            self._data_cfgs[name] = None
        return dataloader

    @property
    def model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def features(self, name: str, dataloader) -> Optional[Dict[str, Any]]:
        """The feature set of ``dataloader`` on rank 0 (None elsewhere), cached."""
        dataset = dataloader.dataset
        cache = None
        if self.cache and self._data_cfgs.get(name) is None:
            print_log(f'feature cache: off for the {name} set (its dataloader was not built '
                      'from a config, so its pipeline cannot be part of the key)',
                      logger='current')
        elif self.cache:
            cache = FeatureCache(self.cache_dir or osp.join(self.runner.work_dir,
                                                            'feature_cache'))

        found: Dict[str, Any] = {}

        def lookup() -> bool:  # rank 0: key parts and cached features; broadcast: hit?
            if cache is None:
                return False
            model_cfg = dict(model=self.runner.cfg.get('model'),
                             data_preprocessor=self.runner.cfg.get('data_preprocessor'))
            found['parts'] = cache.key_parts(self.model, model_cfg, self._data_cfgs[name],
                                             dataset)
            found['feats'] = cache.load(name, found['parts'])
            return found['feats'] is not None

        if run_on_main_rank(lookup):
            if get_dist_info()[0] != 0:
                return None
            out = dict(feats=found['feats'], sample_idx=torch.arange(len(dataset)))
            out.update(dataset_fields(dataset))
            return out
        out = extract_features(self.runner.model, dataloader, fp16=self.fp16,
                               collect_dir=osp.join(self.runner.work_dir, f'.collect_{name}'),
                               desc=f'{name} features')
        if cache is not None:
            run_on_main_rank(lambda: cache.save(name, found['parts'], out['feats']))
        return out

    def evaluate(self, query: Dict[str, Any], bank: Optional[Dict[str, Any]]) -> dict:
        """Metrics of the evaluator on the feature sets (rank 0 only; see the class)."""
        samples = feature_samples(query, self.dataloader.dataset)
        out: Dict[str, Any] = {}
        for metric in self.evaluator.metrics:
            if hasattr(metric, 'set_bank'):
                metric.set_bank(bank)
            try:
                metric.process(None, samples)
                res = metric.compute_metrics(metric.results)
            finally:
                metric.results.clear()
                if hasattr(metric, 'set_bank'):
                    metric.set_bank(None)
            prefix = metric.prefix
            out.update({(f'{prefix}/{k}' if prefix else k): v for k, v in res.items()})
        out['num_query'] = int(query['feats'].shape[0])
        if bank is not None:
            out['num_bank'] = int(bank['feats'].shape[0])
        out['feature_dim'] = int(query['feats'].shape[1])
        return out

    def run(self) -> dict:
        """Extract the bank and query features, evaluate on rank 0, broadcast."""
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        bank = (self.features('bank', self.bank_dataloader)
                if self.bank_dataloader is not None else None)
        query = self.features('query', self.dataloader)
        metrics = run_on_main_rank(lambda: self.evaluate(query, bank))
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics
