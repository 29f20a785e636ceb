#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Export embeddings of a dataset or of a folder of photos to an ``.npz`` file.

Examples::

    # a dataloader of the config (its pipeline), e.g. RAF-DB's test split
    python tools/analysis_tools/extract_features.py \\
        configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py CKPT \\
        --data test_dataloader --out work_dirs/feats/rafdb_test.npz
    # photos: faces detected and aligned as the config's training data (FERInferencer)
    python tools/analysis_tools/extract_features.py CONFIG CKPT --data my_photos/ \\
        --out photos.npz --label-from-folder
    # several processes: each extracts a shard, rank 0 gathers and writes
    torchrun --nproc_per_node 2 tools/analysis_tools/extract_features.py CONFIG CKPT \\
        --data test_dataloader --out feats.npz --launcher pytorch

The model is read as :class:`mmfer.apis.FERInferencer` reads it, with ``task='embedding'``
(backbone + global average pooling for self-supervised checkpoints; a classifier's neck
output). Features are cached (``--cache-dir``, default ``<out folder>/feature_cache``; keyed
on the weights, configs and image files), so a repeated or interrupted export resumes.
Output keys: ``feats`` (N, D), ``labels`` (-1 unknown), ``identities``, ``videos``, ``paths``,
``classes``, ``config``, ``checkpoint`` (:func:`mmfer.apis.feature_export.save_features`).
Plot them with ``tools/analysis_tools/visualize_embedding.py``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

LOADER_KEYS = ('test_dataloader', 'val_dataloader', 'train_dataloader')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Export embeddings of a dataset or a folder')
    p.add_argument('config', help='model config')
    p.add_argument('checkpoint', help='checkpoint')
    p.add_argument('--data', default='test_dataloader',
                   help=f'one of {", ".join(LOADER_KEYS)} (the config\'s dataset), or a folder '
                   'of images (faces detected and aligned)')
    p.add_argument('--out', required=True, help='output .npz')
    p.add_argument('--detector', default='dlib',
                   help="folders: face detector ('dlib', 'mtcnn', or 'none' for aligned crops)")
    p.add_argument('--det-thr', type=float, default=None, help='folders: detector threshold')
    p.add_argument('--template', default=None, help='folders: alignment template')
    p.add_argument('--label-from-folder', action='store_true',
                   help='folders: label each image by its first sub-folder (sorted names)')
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--num-workers', type=int, default=None, help='dataset mode: workers')
    p.add_argument('--cache-dir', default=None,
                   help='feature cache (default <out folder>/feature_cache)')
    p.add_argument('--no-cache', action='store_true')
    p.add_argument('--device', default=None, help='default: cuda if available')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    if not args.out.endswith('.npz'):
        p.error(f'--out must end with .npz, got {args.out}')
    if args.batch_size is not None and args.batch_size < 1:
        p.error('--batch-size must be >= 1')
    if args.data not in LOADER_KEYS and not osp.isdir(args.data):
        p.error(f'--data must be one of {", ".join(LOADER_KEYS)} or an existing folder, '
                f'got {args.data}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.dist import get_rank, init_dist, is_distributed

    from mmfer.apis import detector_cfg
    from mmfer.apis.feature_export import (export_dataset_features, export_folder_features,
                                           save_features)
    from mmfer.utils import register_all_modules
    from mmfer.utils.dist import prepare_launch
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path} does not exist')
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg = prepare_launch(cfg, args.launcher)
    if args.launcher != 'none' and not is_distributed():
        init_dist(args.launcher, backend=cfg.env_cfg.dist_cfg.get('backend', 'nccl'))
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    cache = None if args.no_cache else (
        args.cache_dir or osp.join(osp.dirname(osp.abspath(args.out)), 'feature_cache'))
    if args.data in LOADER_KEYS:
        export = export_dataset_features(cfg, args.checkpoint, args.data, device,
                                         cache_dir=cache, batch_size=args.batch_size,
                                         num_workers=args.num_workers)
    else:
        if is_distributed():
            raise ValueError('--launcher: folders are exported by one process')
        export = export_folder_features(
            cfg, args.checkpoint, args.data, detector_cfg(args.detector, args.det_thr),
            args.template, device, cache_dir=cache, batch_size=args.batch_size or 16,
            label_from_folder=args.label_from_folder)
    if get_rank() != 0:
        return None
    export['config'] = args.config
    save_features(args.out, export)
    n, d = export['feats'].shape
    known = int((export['labels'] >= 0).sum())
    print(f'{n} embeddings of dimension {d} from {args.data} ({known} labelled'
          + (f'; {len(export["failures"])} images without a face left out'
             if export.get('failures') else '') + ')')
    print(f'features: {args.out}', flush=True)
    return export


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, KeyError) as e:
        if os.environ.get('MMFER_DEBUG'):
            raise
        sys.exit(f'tools/analysis_tools/extract_features.py: error: {e}')
