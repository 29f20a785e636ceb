#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Evaluate a checkpoint.

Two routes:

* classic (mmpretrain's tools/test.py): ``tools/test.py CONFIG CHECKPOINT`` builds the
  config's model, loads the checkpoint and runs ``test_dataloader`` + ``test_evaluator``
  with mmengine's Runner.
* frozen features: ``tools/test.py CONFIG CHECKPOINT --eval knn linear fec`` builds only
  ``model.backbone``, loads its weights from any supported checkpoint (mmfer algorithms,
  mmpretrain BYOL/MoCo/classifiers, torchvision ResNets; see
  :mod:`mmfer.evaluation.backbone_weights`), extracts GAP features of the datasets named in
  the config's ``feature_eval`` (cached on disk), then runs

  - ``knn``: weighted k-NN (cosine, exp(sim/T), T=0.07) for every ``--knn-k``;
  - ``linear``: a linear probe on the cached features (top-1, macro-F1);
  - ``fec``: FEC triplet accuracy with l2 and cosine distances;

  writes ``<work_dir>/metrics.json`` and prints a table. Multi-process with
  ``tools/dist_test.sh CONFIG CHECKPOINT N --eval ...`` (torchrun): features are sharded.

Config keys of the feature route (see ``configs/benchmarks/knn_rafdb_r18.py``)::

    model = dict(backbone=dict(type='ResNet', depth=18, ...))
    data_preprocessor = dict(mean=[...], std=[...], to_rgb=True)   # or model.data_preprocessor
    feature_eval = dict(
        train_dataset=dict(type='RAFDB', ..., pipeline=test_pipeline),   # knn / linear
        test_dataset=dict(type='RAFDB', ..., split='test', pipeline=test_pipeline),
        fec_dataset=dict(type='FEC', ..., split='test'),                 # fec (optional)
        fec_pipeline=test_pipeline,
        batch_size=64, num_workers=2,
        knn=dict(k=[10, 20], temperature=0.07, weighting='exp'),
        linear=dict(optimizer='lbfgs', epochs=100, weight_decay=1e-4, bn=True, seed=0))
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.dist import get_dist_info, init_dist, is_distributed
from mmengine.logging import MMLogger, print_log
from mmengine.runner import Runner

import mmfer  # noqa: F401  (version checks, safe checkpoint loading)
from mmfer.registry import DATASETS, MODELS, RUNNERS
from mmfer.utils import register_all_modules
from mmfer.utils.dist import prepare_launch

EVALS = ('knn', 'linear', 'fec')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint with mmfer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--eval', nargs='+', choices=EVALS,
                        help='frozen-feature evaluations; without it, the config\'s '
                        'test_evaluator runs through mmengine\'s Runner')
    parser.add_argument('--knn-k', nargs='+', type=int, help='k values (default: config)')
    parser.add_argument('--knn-t', type=float, help='k-NN temperature (default 0.07)')
    parser.add_argument('--knn-weighting', choices=['exp', 'uniform'])
    parser.add_argument('--checkpoint-prefix', default='backbone.',
                        help='prefix of the backbone keys in the checkpoint ("" for a '
                        'plain backbone / torchvision state dict; keys are matched '
                        'directly when no key has the prefix)')
    parser.add_argument('--work-dir', help='where metrics.json, logs and caches go')
    parser.add_argument('--cache-dir', help='feature cache (default <work_dir>/feature_cache)')
    parser.add_argument('--no-cache', action='store_true', help='do not read/write caches')
    parser.add_argument('--batch-size', type=int, help='feature extraction batch size')
    parser.add_argument('--device', help='cuda / cpu (default: cuda when available)')
    parser.add_argument('--out', help='(classic route) dump the metrics to this file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _work_dir(cfg: Config, args) -> str:
    if args.work_dir is not None:
        return args.work_dir
    if cfg.get('work_dir', None):
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])


# ----------------------------------------------------------------------------- classic route
def run_classic(cfg: Config, args) -> dict:
    cfg.work_dir = _work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    for key in ('test_dataloader', 'test_evaluator', 'test_cfg'):
        if cfg.get(key, None) is None:
            raise KeyError(f'{args.config} has no {key!r}: the classic route needs a test '
                           'dataloader/evaluator (or use --eval knn linear fec)')
    dl = ConfigDict(collate_fn=dict(type='default_collate'))
    dl.update(cfg.test_dataloader)
    cfg.test_dataloader = dl
    cfg = prepare_launch(cfg, args.launcher)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out and get_dist_info()[0] == 0:
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2, default=float)
    return metrics


# ----------------------------------------------------------------------------- feature route
def _preprocessor(cfg: Config):
    pre = cfg.get('data_preprocessor', None) or cfg.model.get('data_preprocessor', None) or {}
    mean, std = pre.get('mean'), pre.get('std')
    to_rgb = pre.get('to_rgb', pre.get('bgr_to_rgb', False))
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1) if mean else None
    std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1) if std else None

    def preprocess(batch):
        inputs = batch['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        x = inputs.float()
        if to_rgb and x.shape[1] == 3:
            x = x.flip(1)
        if mean_t is not None:
            x = (x - mean_t) / std_t
        return x

    return preprocess, dict(mean=mean, std=std, to_rgb=to_rgb)


def _labels(dataset) -> torch.Tensor:
    return torch.tensor([int(dataset.get_data_info(i)['gt_label'])
                         for i in range(len(dataset))], dtype=torch.long)


def _build_dataset(ds_cfg, what: str, config: str):
    if ds_cfg is None:
        raise KeyError(f'{config}: feature_eval.{what} is required for this evaluation')
    return DATASETS.build(copy.deepcopy(ds_cfg))


def run_feature_eval(cfg: Config, args) -> dict:
    from mmfer.evaluation import functional as FM
    from mmfer.evaluation import knn_predict
    from mmfer.evaluation.backbone_weights import load_backbone_weights
    from mmfer.evaluation.features import (ImageListDataset, cache_key, cached_features,
                                           checkpoint_fingerprint, extract_features)
    from mmfer.evaluation.linear_probe import linear_probe

    fe = cfg.get('feature_eval', None)
    if fe is None:
        raise KeyError(f'{args.config} has no `feature_eval` dict (datasets for --eval); see '
                       'configs/benchmarks/knn_rafdb_r18.py')
    if cfg.get('model', None) is None or cfg.model.get('backbone', None) is None:
        raise KeyError(f'{args.config}: --eval needs model.backbone')
    rank, world = get_dist_info()
    work_dir = _work_dir(cfg, args)
    os.makedirs(work_dir, exist_ok=True)
    cache_dir = None if args.no_cache else (args.cache_dir or osp.join(work_dir,
                                                                         'feature_cache'))
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if device.type == 'cuda' and is_distributed():
        device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0)))

    backbone_cfg = copy.deepcopy(cfg.model.backbone)
    backbone_cfg.pop('init_cfg', None)
    backbone_cfg.pop('frozen_stages', None)
    backbone = MODELS.build(backbone_cfg)
    load_info = load_backbone_weights(backbone, args.checkpoint, args.checkpoint_prefix)
    backbone.to(device).eval()
    preprocess, pre_cfg = _preprocessor(cfg)
    batch_size = args.batch_size or fe.get('batch_size', 64)
    num_workers = fe.get('num_workers', 2)
    fp = checkpoint_fingerprint(args.checkpoint)

    def features(name, dataset, ds_cfg):
        key = cache_key(fp, args.checkpoint_prefix, backbone_cfg.to_dict(), pre_cfg,
                        ds_cfg.to_dict() if hasattr(ds_cfg, 'to_dict') else ds_cfg,
                        len(dataset))
        feats = cached_features(
            cache_dir, name, key,
            lambda: extract_features(backbone, preprocess, dataset, batch_size, num_workers,
                                     device, desc=name))
        bad = int((~torch.isfinite(feats)).any(dim=1).sum())
        if bad:
            raise ValueError(f'{bad} of the {len(feats)} {name} features of {args.checkpoint} '
                             'are NaN/inf: the backbone overflows on these images (cache: '
                             f'{cache_dir})')
        return feats

    results = dict(config=args.config, checkpoint=osp.abspath(args.checkpoint),
                   checkpoint_match=load_info['matched'], world_size=world)
    tic = time.time()
    if {'knn', 'linear'} & set(args.eval):
        train_set = _build_dataset(fe.get('train_dataset'), 'train_dataset', args.config)
        test_set = _build_dataset(fe.get('test_dataset'), 'test_dataset', args.config)
        classes = test_set.metainfo.get('classes')
        num_classes = len(classes) if classes else None
        train_f = features('train', train_set, fe.train_dataset)
        test_f = features('test', test_set, fe.test_dataset)
        train_y, test_y = _labels(train_set), _labels(test_set)
        num_classes = num_classes or int(max(train_y.max(), test_y.max())) + 1
        results['num_train'], results['num_test'] = len(train_set), len(test_set)
        results['feature_dim'] = int(train_f.shape[1])
        if rank == 0 and 'knn' in args.eval:
            knn_cfg = fe.get('knn', {})
            ks = args.knn_k or knn_cfg.get('k', [10, 20])
            ks = [ks] if isinstance(ks, int) else list(ks)
            t = args.knn_t or knn_cfg.get('temperature', 0.07)
            weighting = args.knn_weighting or knn_cfg.get('weighting', 'exp')
            results['knn'] = {}
            for k in ks:
                k_eff = min(k, len(train_set))
                pred = knn_predict(train_f.to(device), train_y, test_f.to(device), k_eff,
                                   temperature=t, weighting=weighting,
                                   num_classes=num_classes)
                results['knn'][f'k={k}'] = dict(
                    k=k_eff, temperature=t, weighting=weighting,
                    accuracy=100 * FM.accuracy(pred, test_y),
                    macro_f1=100 * FM.macro_f1(pred, test_y, num_classes),
                    mean_class_accuracy=100 * FM.mean_class_accuracy(pred, test_y,
                                                                     num_classes))
        if rank == 0 and 'linear' in args.eval:
            lin_cfg = dict(fe.get('linear', {}))
            pred, _ = linear_probe(train_f, train_y, test_f, num_classes=num_classes,
                                   **lin_cfg)
            results['linear'] = dict(
                accuracy=100 * FM.accuracy(pred, test_y),
                macro_f1=100 * FM.macro_f1(pred, test_y, num_classes),
                mean_class_accuracy=100 * FM.mean_class_accuracy(pred, test_y, num_classes),
                per_class_f1={c: 100 * float(v) for c, v in zip(
                    classes or range(num_classes),
                    FM.per_class_f1(pred, test_y, num_classes))},
                **{k: v for k, v in lin_cfg.items() if not isinstance(v, dict)})
    if 'fec' in args.eval:
        fec_cfg = fe.get('fec_dataset')
        fec_set = _build_dataset(fec_cfg, 'fec_dataset', args.config)
        paths = fec_set.unique_images()
        pipeline = fe.get('fec_pipeline', None) or fe.get('test_dataset', {}).get('pipeline')
        if pipeline is None:
            raise KeyError(f'{args.config}: feature_eval.fec_pipeline is required')
        img_set = ImageListDataset(paths, pipeline=copy.deepcopy(pipeline))
        feats = features('fec', img_set, dict(fec=fec_cfg.to_dict(), pipeline=pipeline,
                                              images=cache_key(paths)))
        if rank == 0:
            index = {p: i for i, p in enumerate(paths)}
            trip = torch.tensor([[index[p] for p in fec_set.get_data_info(i)['img_paths']]
                                 for i in range(len(fec_set))])
            odd = _labels(fec_set)
            types = [fec_set.get_data_info(i)['triplet_type'] for i in range(len(fec_set))]
            fec_res = dict(num_triplets=len(fec_set), num_images=len(paths))
            for metric in ('l2', 'cosine'):
                pred = torch.from_numpy(FM.triplet_predict_odd(
                    feats[trip[:, 0]], feats[trip[:, 1]], feats[trip[:, 2]], metric))
                fec_res[f'accuracy_{metric}'] = 100 * float((pred == odd).float().mean())
                for t in sorted(set(types)):
                    sel = torch.tensor([x == t for x in types])
                    fec_res[f'accuracy_{metric}/{t}'] = 100 * float(
                        (pred[sel] == odd[sel]).float().mean())
            results['fec'] = fec_res
    results['seconds'] = round(time.time() - tic, 2)
    if rank == 0:
        with open(osp.join(work_dir, 'metrics.json'), 'w') as f:
            json.dump(results, f, indent=2)
        print_table(results)
        print_log(f'metrics written to {osp.join(work_dir, "metrics.json")}',
                  logger='current')
    return results


def print_table(results: dict) -> None:
    rows = []
    for k, r in results.get('knn', {}).items():
        rows.append((f'k-NN {k} ({r["weighting"]}, T={r["temperature"]})',
                     f'{r["accuracy"]:.2f}', f'{r["macro_f1"]:.2f}'))
    if 'linear' in results:
        r = results['linear']
        rows.append(('linear probe', f'{r["accuracy"]:.2f}', f'{r["macro_f1"]:.2f}'))
    if 'fec' in results:
        r = results['fec']
        rows.append(('FEC triplet acc. (l2)', f'{r["accuracy_l2"]:.2f}', '-'))
        rows.append(('FEC triplet acc. (cosine)', f'{r["accuracy_cosine"]:.2f}', '-'))
    w = max([len(r[0]) for r in rows] + [10])
    lines = [f'| {"evaluation":{w}s} | top-1 / acc (%) | macro-F1 (%) |',
             f'|{"-" * (w + 2)}|-----------------|--------------|']
    lines += [f'| {a:{w}s} | {b:>15s} | {c:>12s} |' for a, b, c in rows]
    print('\n'.join(lines), flush=True)


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules(init_default_scope=True)
    if not args.eval:
        return run_classic(cfg, args)
    if args.launcher != 'none':
        cfg = prepare_launch(cfg, args.launcher)
        if not torch.distributed.is_initialized():
            init_dist(args.launcher, **cfg.env_cfg.get('dist_cfg', {}))
    work_dir = _work_dir(cfg, args)
    os.makedirs(work_dir, exist_ok=True)
    MMLogger.get_instance('mmfer_test', log_file=osp.join(
        work_dir, f'test_{time.strftime("%Y%m%d_%H%M%S")}.log'),
        log_level=cfg.get('log_level', 'INFO'))
    return run_feature_eval(cfg, args)


if __name__ == '__main__':
    try:
        main()
    except (KeyError, FileNotFoundError, ValueError) as e:
        # clear one-line errors for bad inputs (full traceback with MMFER_DEBUG=1)
        if os.environ.get('MMFER_DEBUG'):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f'tools/test.py: error: {type(e).__name__}: {msg}', file=sys.stderr)
        sys.exit(1)
