#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Train a model from an mmfer config (mmpretrain's tools/train.py, with CPU-aware launch).

Examples:
    python tools/train.py configs/ssl_study/byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py --quiet
    python tools/train.py CONFIG --resume         # the work dir's latest checkpoint (error if none)
    python tools/train.py CONFIG --resume auto    # the latest checkpoint if any, else from scratch
    python tools/train.py CONFIG --resume path/iter_100.pth
    python tools/train.py CONFIG --tensorboard          # + TensorBoard logs (tensorboard --logdir work_dirs)
    tools/dist_train.sh configs/contrawarp/contrawarp-byol_resnet50_8xb512-lars-coslr-50e_ms1m.py 8  # 8 GPUs via torchrun
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner

import mmfer  # noqa: F401  (version checks, safe checkpoint loading)
from mmfer.registry import RUNNERS
from mmfer.utils import (InvalidCheckpointError, WorkDirLockedError, check_checkpoint_file,
                         find_latest_checkpoint, register_all_modules, setup_torch_threads)
from mmfer.utils.dist import finish_launch, prepare_launch

#: ``--resume`` without a value: the work dir's latest checkpoint, which must exist.
LATEST = object()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model with mmfer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const=LATEST, metavar='CKPT|auto',
        help='resume training: without a value from the work dir\'s latest checkpoint '
        '(an error when it has none: a mistyped --work-dir does not silently start '
        'over); "auto": from the latest checkpoint if there is one, else from scratch; '
        'CKPT: from that checkpoint')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--tensorboard', action='store_true',
                        help='also log to TensorBoard (<work_dir>/<timestamp>/vis_data; '
                        'needs `pip install -e .[tensorboard]`)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual total batch size '
                        '(config: auto_scale_lr.base_batch_size)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'train_dataloader.batch_size=8 model.backbone.depth=18')
    parser.add_argument('--quiet', action='store_true',
                        help='console: warnings and errors only (config key '
                        'console_log_level=WARNING); the log file keeps everything')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config (mmpretrain semantics: ``--cfg-options``
    first, then the dedicated flags, so ``--resume`` looks in the final work dir)."""
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper or '
                             f'AmpOptimWrapper, the config has {optim_wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume is LATEST or args.resume == 'auto':
        # mmengine's own lookup trusts work_dir/last_checkpoint, which a kill can truncate.
        latest = find_latest_checkpoint(cfg.work_dir)
        if latest is None and args.resume is LATEST:
            raise FileNotFoundError(
                f'--resume: nothing to resume in work dir {osp.abspath(cfg.work_dir)} (no '
                'last_checkpoint, no iter_N.pth / epoch_N.pth). Check --work-dir; pass '
                '--resume auto to start from scratch when there is nothing to resume, or '
                '--resume CKPT')
        if latest is None:  # --resume auto: the config's own load_from (if any) applies
            print(f'--resume auto: no checkpoint in {osp.abspath(cfg.work_dir)}, training '
                  'from the start', flush=True)
        else:
            cfg.resume = True
            cfg.load_from = latest
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = check_checkpoint_file(args.resume)
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', ConfigDict())
        cfg.auto_scale_lr.enable = True
    if args.quiet:
        cfg.console_log_level = 'WARNING'
    if args.tensorboard:
        try:
            import tensorboard  # noqa: F401
        except ImportError as e:
            raise ImportError('--tensorboard needs the tensorboard package: '
                              '`pip install -e .[tensorboard]`') from e
        cfg.setdefault('visualizer', ConfigDict(type='mmpretrain.UniversalVisualizer'))
        backends = list(cfg.visualizer.get('vis_backends') or [dict(type='LocalVisBackend')])
        if not any(str(b.get('type', '')).endswith('TensorboardVisBackend') for b in backends):
            backends.append(dict(type='TensorboardVisBackend'))
        cfg.visualizer.vis_backends = backends
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    if cfg.get('load_from') and '://' not in str(cfg.load_from):
        check_checkpoint_file(cfg.load_from)  # before any dataset or model is built
    cfg = prepare_launch(cfg, args.launcher)
    setup_torch_threads(cfg)
    register_all_modules(init_default_scope=False)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    finish_launch()


if __name__ == '__main__':
    try:
        main()
    except (WorkDirLockedError, InvalidCheckpointError, FileNotFoundError) as e:
        # bad inputs found before training: one line (full traceback with MMFER_DEBUG=1)
        if os.environ.get('MMFER_DEBUG'):
            raise
        print(f'tools/train.py: error: {type(e).__name__}: {e}', file=sys.stderr)
        sys.exit(1)
