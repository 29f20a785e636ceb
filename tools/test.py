#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Evaluate a checkpoint with the config's test_dataloader / test_cfg / test_evaluator.

A classifier config (e.g. fine-tuning) tests the model's predictions (``FERClsMetric``); a
frozen-feature benchmark (``test_cfg=dict(type='FrozenFeatureTestLoop', ...)``, e.g.
``configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py``) runs k-NN, the linear probe
or FEC triplet accuracy on the frozen backbone's features. The checkpoint is loaded with
mmfer's policy (:class:`mmfer.engine.FERRunner`): every backbone weight must be found.
Results go to ``<work_dir>/metrics.json`` and a table; ``--out`` also dumps the flat metrics.

Examples::

    python tools/test.py configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py CKPT
    python tools/test.py CONFIG CKPT --eval knn --knn-k 10 30 --knn-t 0.07
    python tools/test.py CONFIG CKPT --dump preds.pth   # per-sample predictions
    tools/dist_test.sh CONFIG CKPT 8 --eval knn linear
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.dist import get_rank, get_world_size
from mmengine.logging import print_log
from mmengine.runner import Runner

import mmfer  # noqa: F401  (version checks, safe checkpoint loading)
from mmfer.evaluation import format_results_table, nest_metrics
from mmfer.registry import RUNNERS
from mmfer.utils import WorkDirLockedError, check_checkpoint_file, register_all_modules
from mmfer.utils.dist import finish_launch, prepare_launch

#: ``--eval`` presets: the metric types of the config's test_evaluator that run.
PRESETS = dict(knn='KNNAccuracy', linear='LinearProbe', fec='TripletAccuracy',
               identity='IdentityNN', rank='EffectiveRank')


def _positive(kind):
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
        return value
    return parse


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint with mmfer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where metrics.json, logs and feature caches go')
    parser.add_argument('--out', help='also dump the flat metrics to this JSON file')
    parser.add_argument('--dump', help='classifier configs: also write every sample\'s '
                        'prediction to this .pth file (DumpPredictions; read by '
                        'tools/analysis_tools/analyze_results.py)')
    parser.add_argument('--eval', nargs='+', choices=sorted(PRESETS),
                        help='run only these metrics of the config\'s test_evaluator '
                        f'({", ".join(f"{k}={v}" for k, v in PRESETS.items())})')
    parser.add_argument('--knn-k', nargs='+', type=_positive(int),
                        help='KNNAccuracy topk (default: config, 10 30)')
    parser.add_argument('--knn-t', type=_positive(float), help='KNNAccuracy temperature')
    parser.add_argument('--knn-weighting', choices=['exp', 'uniform'])
    parser.add_argument('--batch-size', type=_positive(int),
                        help='test (and bank) dataloader batch size')
    parser.add_argument('--checkpoint-prefix',
                        help='prefix of the backbone keys in the checkpoint (default '
                        '"backbone."; plain backbone names such as a torchvision state '
                        'dict are matched when no key has it); config key load_from_prefix')
    parser.add_argument('--no-cache', action='store_true',
                        help='frozen features: do not read or write the feature cache')
    parser.add_argument('--cache-dir', help='frozen features: the feature cache folder '
                        '(default <work_dir>/feature_cache)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value pairs')
    parser.add_argument('--quiet', action='store_true',
                        help='console: warnings, errors and the results table only (config '
                        'key console_log_level=WARNING); the log file keeps everything')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _metric_type(metric) -> str:
    return str(metric.get('type', '')).split('.')[-1]


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config."""
    for key in ('test_dataloader', 'test_evaluator', 'test_cfg'):
        if cfg.get(key, None) is None:
            raise KeyError(f'{args.config} has no {key!r}: tools/test.py runs the config\'s '
                           'test_dataloader, test_cfg and test_evaluator')
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.checkpoint_prefix is not None:
        cfg.load_from_prefix = args.checkpoint_prefix
    cfg.test_dataloader.setdefault('collate_fn', ConfigDict(type='default_collate'))
    metrics = cfg.test_evaluator
    metrics = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    if args.eval:
        wanted = {PRESETS[e] for e in args.eval}
        have = {_metric_type(m) for m in metrics}
        if wanted - have:
            raise KeyError(f'--eval {" ".join(args.eval)}: the test_evaluator of '
                           f'{args.config} has no {sorted(wanted - have)} (it has '
                           f'{sorted(have)}); use a config of configs/*/benchmarks/')
        metrics = [m for m in metrics if _metric_type(m) in wanted]
    knn = dict(topk=args.knn_k, temperature=args.knn_t, weighting=args.knn_weighting)
    knn = {k: v for k, v in knn.items() if v is not None}
    if knn:
        targets = [m for m in metrics if _metric_type(m) == 'KNNAccuracy']
        if not targets:
            raise KeyError(f'--knn-*: {args.config} runs no KNNAccuracy')
        for m in targets:
            m.update(knn)
    cfg.test_evaluator = metrics
    loop = cfg.test_cfg
    frozen = str(loop.get('type', '')).split('.')[-1] == 'FrozenFeatureTestLoop'
    if (args.no_cache or args.cache_dir) and not frozen:
        raise KeyError(f'--no-cache/--cache-dir: {args.config} is not a frozen-feature config')
    if args.dump:
        if frozen:
            raise KeyError(f'--dump: {args.config} evaluates frozen features, which have no '
                           'per-sample predictions; export them with '
                           'tools/analysis_tools/extract_features.py')
        cfg.test_evaluator = list(cfg.test_evaluator) + [
            ConfigDict(type='DumpPredictions', out_file_path=args.dump)]
    if args.no_cache:
        loop.cache = False
    if args.cache_dir:
        loop.cache_dir = args.cache_dir
    if args.batch_size:
        cfg.test_dataloader.batch_size = args.batch_size
        if frozen and loop.get('bank_dataloader'):
            loop.bank_dataloader.batch_size = args.batch_size
    if args.quiet:
        cfg.console_log_level = 'WARNING'
    return cfg


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg = merge_args(cfg, args)
    if '://' not in args.checkpoint:
        check_checkpoint_file(args.checkpoint)  # before any model or dataset is built
    cfg = prepare_launch(cfg, args.launcher)
    register_all_modules(init_default_scope=True)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    tic = time.time()
    metrics = runner.test()
    if get_rank() == 0:
        report = getattr(runner, 'load_report', None) or {}
        results = dict(config=args.config, checkpoint=osp.abspath(args.checkpoint),
                       checkpoint_match=report.get('matched'), world_size=get_world_size(),
                       seconds=round(time.time() - tic, 2), **nest_metrics(metrics))
        path = osp.join(cfg.work_dir, 'metrics.json')
        os.makedirs(cfg.work_dir, exist_ok=True)
        with open(path, 'w') as f:
            json.dump(results, f, indent=2, default=float)
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(metrics, f, indent=2, default=float)
        print(format_results_table(metrics), flush=True)
        print_log(f'metrics written to {path}', logger='current')
    finish_launch()
    return metrics


if __name__ == '__main__':
    try:
        main()
    except (KeyError, FileNotFoundError, ValueError, WorkDirLockedError) as e:
        # clear one-line errors for bad inputs (full traceback with MMFER_DEBUG=1)
        if os.environ.get('MMFER_DEBUG'):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f'tools/test.py: error: {type(e).__name__}: {msg}', file=sys.stderr)
        sys.exit(1)
