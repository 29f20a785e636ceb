# Copyright (c) mmfer contributors. All rights reserved.
"""Frozen-feature evaluation of the study's checkpoints, and the statistics of its table.

:class:`FrozenEvaluator` is ``tools/test.py`` with the study's benchmark config
(``configs/ssl_study/benchmarks/``) without building a runner per checkpoint: the same
benchmark model (mmpretrain ``ImageClassifier`` without head = GAP of the backbone), the same
weight loading (:func:`mmfer.models.utils.load_backbone_weights`, ``backbone.*`` keys), the
same feature extraction (:func:`mmfer.evaluation.extract_features`) and the same metric
classes (the config's ``test_evaluator``: ``KNNAccuracy``, ``LinearProbe``, ``IdentityNN``,
``EffectiveRank``, called through their ``compute``). The bank and test images are loaded
once for all checkpoints.
"""
import copy
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

from .presets import EVAL_CONFIG
from .runs import repo_path

#: The metrics of the table: (metrics.json key, column name).
TABLE_METRICS = (
    ('knn/k=10/accuracy', 'k-NN@10'),
    ('knn/k=30/accuracy', 'k-NN@30'),
    ('linear/accuracy', 'linear'),
    ('identity_nn/accuracy', 'identity 1-NN'),
    ('feature_rank/effective_rank', 'eff. rank'),
)
#: The accuracies whose binomial standard error the table reports.
ACCURACY_KEYS = ('knn/k=10/accuracy', 'knn/k=30/accuracy', 'linear/accuracy')


class FrozenEvaluator:
    """Evaluate backbone checkpoints on the study's labelled faces (see the module docstring).

    Args:
        rafdb_root (str): The synthetic RAF-DB layout (bank = train split, query = test).
        config (str): The benchmark config. Defaults to the study's.
    """

    def __init__(self, rafdb_root: str, config: str = EVAL_CONFIG) -> None:
        from mmengine.runner import Runner

        from mmfer.engine.hooks.feature_monitor_hook import CachedLoader
        cfg = Config.fromfile(repo_path(config))
        self.config = config
        self.cfg = cfg
        self.model_cfg = copy.deepcopy(cfg.model)
        self.model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
        loaders = dict(query=copy.deepcopy(cfg.test_dataloader),
                       bank=copy.deepcopy(cfg.test_cfg.bank_dataloader))
        self.loaders = {}
        for name, loader in loaders.items():
            loader.dataset.data_root = rafdb_root
            loader.dataset.test_mode = True
            loader.dataset.serialize_data = False   # no gc.collect() per dataset
            self.loaders[name] = CachedLoader(Runner.build_dataloader(loader))
        self.classes = self.loaders['bank'].dataset.metainfo.get('classes')
        self.metric_cfgs = copy.deepcopy(cfg.test_evaluator)
        self.num_query = len(self.loaders['query'].dataset)
        self.num_bank = len(self.loaders['bank'].dataset)

    def features(self, checkpoint: str,
                 sets: Sequence[str] = ('bank', 'query')) -> Dict[str, Dict[str, Any]]:
        """``{'bank': feature set, 'query': feature set}`` of a checkpoint's backbone (only
        the ``sets`` asked for)."""
        from mmfer.evaluation import extract_features
        from mmfer.models.utils import load_backbone_weights
        from mmfer.registry import MODELS
        model = MODELS.build(copy.deepcopy(self.model_cfg))
        load_backbone_weights(model.backbone, checkpoint)
        return {name: extract_features(model, self.loaders[name], progress=False,
                                       desc=f'{name} features') for name in sets}

    def metrics(self, feats: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
        """The config's metrics on a pair of feature sets (values in percent)."""
        from mmfer.registry import METRICS
        out: Dict[str, Any] = {}
        for cfg in self.metric_cfgs:
            metric = METRICS.build(copy.deepcopy(cfg))
            if self.classes:
                metric.dataset_meta = dict(classes=self.classes)
            for key, value in metric.compute(feats['query'], feats['bank']).items():
                out[f'{metric.prefix}/{key}'] = value
        out.update(num_query=int(feats['query']['feats'].shape[0]),
                   num_bank=int(feats['bank']['feats'].shape[0]),
                   feature_dim=int(feats['query']['feats'].shape[1]))
        return out

    def evaluate(self, checkpoint: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """``(metrics, query feature set)`` of a checkpoint."""
        feats = self.features(checkpoint)
        return self.metrics(feats), feats['query']


def binomial_se(accuracy: float, n: int) -> float:
    """Standard error (percentage points) of an accuracy (percent) measured on ``n`` samples:
    ``sqrt(p (1 - p) / n)`` at the observed ``p``."""
    p = min(max(accuracy / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1 - p) / max(int(n), 1))


def summarise(values: Sequence[float]) -> Dict[str, float]:
    """Mean, sample standard deviation (0 for one value) and count."""
    x = np.asarray([float(v) for v in values], np.float64)
    if x.size == 0:
        return dict(mean=float('nan'), sd=float('nan'), n=0)
    return dict(mean=float(x.mean()), sd=float(x.std(ddof=1)) if x.size > 1 else 0.0,
                n=int(x.size))


def summarise_rows(results: Dict[str, List[Dict[str, Any]]],
                   num_query: int) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Per method and metric: mean, sd, n over seeds; accuracies also ``se`` (binomial SE
    of the test size at the mean)."""
    table: Dict[str, Dict[str, Dict[str, float]]] = {}
    for method, runs in results.items():
        row = {}
        for key, _ in TABLE_METRICS + (('linear/weight_decay', ''), ):
            vals = [r['metrics'][key] for r in runs if key in r.get('metrics', {})]
            if not vals:
                continue
            row[key] = summarise(vals)
            if key in ACCURACY_KEYS:
                row[key]['se'] = binomial_se(row[key]['mean'], num_query)
        seconds = [r['train_seconds'] for r in runs if r.get('train_seconds') is not None]
        if seconds:
            row['train_seconds'] = summarise(seconds)
        table[method] = row
    return table


def compare(table: Dict[str, Dict[str, Dict[str, float]]], a: str, b: str, key: str,
            num_query: int) -> Optional[Dict[str, float]]:
    """``a`` minus ``b`` on ``key`` (means), in points and in binomial SEs of the test size.

    The SE is the larger of the two rows' SEs, so "beyond 2 SE" is a conservative reading of
    one test set; the seeds' sd is reported alongside.
    """
    if key not in table.get(a, {}) or key not in table.get(b, {}):
        return None
    ma, mb = table[a][key]['mean'], table[b][key]['mean']
    se = max(binomial_se(ma, num_query), binomial_se(mb, num_query))
    diff = ma - mb
    return dict(diff=diff, se=se, z=diff / se if se > 0 else float('inf'),
                sd_a=table[a][key]['sd'], sd_b=table[b][key]['sd'])
