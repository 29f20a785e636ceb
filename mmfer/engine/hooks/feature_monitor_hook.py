# Copyright (c) mmfer contributors. All rights reserved.
"""Online monitor of what a self-supervised backbone learns (expression vs identity), during
training."""
import copy
import logging
import os.path as osp
import time
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmfer.registry import HOOKS, METRICS
from mmfer.utils.dist import run_on_main_rank

DATA_BATCH = Optional[Union[dict, tuple, list]]

#: Short names of the monitored values in the one-line log message.
_SHORT = {'knn/k={k}/accuracy': 'expression k-NN@{k}', 'identity_nn/accuracy': 'identity 1-NN',
          'feature_rank/effective_rank': 'effective rank'}


#: Metric outputs that are settings, not measurements (not logged).
_SETTINGS = ('/k', '/k_requested', '/temperature', 'dim')


class CachedLoader:
    """The batches of a dataloader, loaded once: what :func:`extract_features` iterates.

    Only valid for a deterministic (test) pipeline; the monitor's sets have one.
    """

    def __init__(self, dataloader) -> None:
        self.dataset = dataloader.dataset
        self.batch_sampler = [list(b) for b in dataloader.batch_sampler]
        self.batches = list(dataloader)

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


@HOOKS.register_module()
class FeatureMonitorHook(Hook):
    """Every ``interval`` iterations: does the backbone being trained encode expression or identity?

    The features of two small labelled sets are extracted with
    :func:`mmfer.evaluation.extract_features` from the model being trained (its own
    ``data_preprocessor`` and ``extract_feat``: the *online* backbone of BYOL / SimSiam /
    MoCo / ContraWarping / SSL-FER, globally average-pooled; eval mode during the extraction,
    the previous mode restored), and three frozen-feature metrics are computed on them
    (:class:`~mmfer.evaluation.FeatureMetric` ``compute``):

    - expression k-NN accuracy of the ``query`` set against the ``bank`` (``KNNAccuracy``,
      k = ``knn_k``); give a bank and a query of **different people** (e.g. the train and
      test splits of an identity-disjoint layout), otherwise k-NN rewards identity;
    - identity 1-NN within the query set (``IdentityNN``; needs ``identity`` on the samples);
    - the effective rank of the query features (``EffectiveRank``; a collapse alarm).

    The values go to the message hub (``monitor/<metric>/<key>``), to the visualizer's
    scalars (``vis_data/scalars.json``, ``step`` = iteration; TensorBoard with its backend)
    and to the log, one line per measurement. They are measured before the first iteration
    (``before_train``, unless ``measure_at_start=False``), every ``interval`` iterations and
    after the last one.

    Under ``torchrun`` every rank extracts its shard (the sets' samplers are distributed
    ``DefaultSampler(shuffle=False)``), the features are gathered to rank 0, rank 0 computes
    the metrics and broadcasts them; every rank then updates its message hub and continues
    (an error on rank 0 is raised on every rank, so no rank waits forever).

    Args:
        interval (int): Iterations between measurements.
        bank (dict): The labelled bank: a dataloader config (with ``dataset``) or a dataset
            config. Built with ``test_mode=True``; defaults: batch size 128, no workers,
            ``DefaultSampler(shuffle=False)``, ``default_collate``.
        query (dict): The labelled query set, the same way.
        knn_k (Sequence[int]): k of the k-NN accuracy. Defaults to (10, 30).
        temperature (float): k-NN vote temperature. Defaults to 0.07.
        identity (bool): Compute identity 1-NN (the query set needs identities).
            Defaults to True.
        rank (bool): Compute the effective rank. Defaults to True.
        cache_batches (bool): Load the two sets once and keep the batches in memory (their
            pipelines must be deterministic). Defaults to True.
        measure_at_start (bool): Measure before the first iteration too. Defaults to True.
        prefix (str): Name prefix of the logged values. Defaults to ``'monitor'``.

    Example (config)::

        custom_hooks = [dict(
            type='FeatureMonitorHook', interval=500,
            bank=dict(type='RAFDB', data_root='data/rafdb', split='train',
                      pipeline=test_pipeline, indices=2000),
            query=dict(type='RAFDB', data_root='data/rafdb', split='test',
                       pipeline=test_pipeline, indices=1000))]
    """

    priority = 'LOW'  # after the optimizer step and the parameter scheduler

    def __init__(self,
                 interval: int,
                 bank: dict,
                 query: dict,
                 knn_k: Sequence[int] = (10, 30),
                 temperature: float = 0.07,
                 identity: bool = True,
                 rank: bool = True,
                 cache_batches: bool = True,
                 measure_at_start: bool = True,
                 prefix: str = 'monitor') -> None:
        if int(interval) != interval or interval < 1:
            raise ValueError(f'FeatureMonitorHook: interval must be a positive integer, got '
                             f'{interval!r}')
        for name, cfg in (('bank', bank), ('query', query)):
            if not isinstance(cfg, dict) or not ('dataset' in cfg or 'type' in cfg):
                raise ValueError(f'FeatureMonitorHook: {name} must be a dataloader config '
                                 f'(with "dataset") or a dataset config (with "type"), got '
                                 f'{cfg!r:.200}')
        if not knn_k or any(int(k) != k or k < 1 for k in knn_k):
            raise ValueError(f'FeatureMonitorHook: knn_k must be positive integers, got '
                             f'{knn_k!r}')
        self.interval = int(interval)
        self.bank_cfg = self._loader_cfg(bank)
        self.query_cfg = self._loader_cfg(query)
        self.knn_k = tuple(int(k) for k in knn_k)
        self.metric_cfgs: List[dict] = [
            dict(type='KNNAccuracy', topk=self.knn_k, temperature=temperature)]
        if identity:
            self.metric_cfgs.append(dict(type='IdentityNN'))
        if rank:
            self.metric_cfgs.append(dict(type='EffectiveRank'))
        self.cache_batches = cache_batches
        self.measure_at_start = measure_at_start
        self.prefix = prefix
        self._loaders: Dict[str, Any] = {}
        self._last_iter: Optional[int] = None
        #: Every measurement of this run: dicts with ``step`` and the logged values.
        self.history: List[Dict[str, float]] = []

    @staticmethod
    def _loader_cfg(cfg: dict) -> dict:
        cfg = copy.deepcopy(cfg)
        if 'dataset' not in cfg:
            cfg = dict(dataset=cfg)
        cfg['dataset']['test_mode'] = True
        cfg.setdefault('batch_size', 128)
        cfg.setdefault('num_workers', 0)
        cfg.setdefault('persistent_workers', False)
        cfg.setdefault('sampler', dict(type='DefaultSampler', shuffle=False))
        cfg.setdefault('collate_fn', dict(type='default_collate'))
        return cfg

    # ----------------------------------------------------------------------------- data
    def _loader(self, runner, name: str):
        if name not in self._loaders:
            cfg = self.bank_cfg if name == 'bank' else self.query_cfg
            loader = runner.build_dataloader(copy.deepcopy(cfg), seed=runner.seed)
            self._loaders[name] = CachedLoader(loader) if self.cache_batches else loader
        return self._loaders[name]

    # ----------------------------------------------------------------------- measuring
    def measure(self, runner, step: int) -> Dict[str, float]:
        """Extract both feature sets, compute the metrics (rank 0), broadcast, log them.

        Returns:
            dict: ``{'<prefix>/<metric>/<key>': value}`` (the same on every rank).
        """
        from mmfer.evaluation import extract_features
        tic = time.perf_counter()
        model = runner.model
        collect = osp.join(runner.work_dir, '.collect_monitor')
        feats = {name: extract_features(model, self._loader(runner, name), progress=False,
                                        collect_dir=f'{collect}_{name}',
                                        desc=f'monitor {name} features')
                 for name in ('bank', 'query')}
        values = run_on_main_rank(lambda: self._compute(feats['query'], feats['bank']))
        seconds = time.perf_counter() - tic
        for key, value in values.items():
            runner.message_hub.update_scalar(key, value)
        runner.visualizer.add_scalars(values, step=step)
        self.history.append(dict(values, step=step))
        self._last_iter = step
        print_log(self._message(values, step, seconds), logger='current', level=logging.INFO)
        return values

    def _compute(self, query: dict, bank: dict) -> Dict[str, float]:
        out: Dict[str, float] = {}
        classes = self._loaders['bank'].dataset.metainfo.get('classes')
        for cfg in self.metric_cfgs:
            metric = METRICS.build(copy.deepcopy(cfg))
            if classes:
                metric.dataset_meta = dict(classes=classes)
            res = metric.compute(query, bank)
            for key, value in res.items():
                if (isinstance(value, (int, float)) and not isinstance(value, bool)
                        and not key.endswith(_SETTINGS)):
                    out[f'{self.prefix}/{metric.prefix}/{key}'] = float(value)
        return out

    def _message(self, values: Dict[str, float], step: int, seconds: float) -> str:
        parts = []
        names = {tmpl.format(k=k): short.format(k=k) for tmpl, short in _SHORT.items()
                 for k in self.knn_k}
        for key, short in names.items():
            full = f'{self.prefix}/{key}'
            if full in values:
                parts.append(f'{short} {values[full]:.2f}')
        return (f'{self.prefix} @ iter {step}: ' + ', '.join(parts)
                + f' ({seconds:.1f} s)')

    # ---------------------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        if self.measure_at_start and runner.iter == 0:
            self.measure(runner, 0)

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self.measure(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        if runner.iter > 0 and self._last_iter != runner.iter:
            self.measure(runner, runner.iter)
