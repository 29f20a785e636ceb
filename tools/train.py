#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Train a model from an mmfer config (mmpretrain's tools/train.py, with CPU-aware launch).

Examples:
    python tools/train.py configs/ssl_study/byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py --quiet
    python tools/train.py CONFIG --resume                # resume from work_dir's last checkpoint
    python tools/train.py CONFIG --resume path/iter_100.pth
    tools/dist_train.sh configs/contrawarp/contrawarp-byol_resnet50_8xb512-lars-coslr-50e_ms1m.py 8  # 8 GPUs via torchrun
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner

import mmfer  # noqa: F401  (version checks, safe checkpoint loading)
from mmfer.registry import RUNNERS
from mmfer.utils import find_latest_checkpoint, register_all_modules, setup_torch_threads
from mmfer.utils.dist import prepare_launch


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model with mmfer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint; without a path, from the latest '
        'checkpoint in the work_dir')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
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
    """Merge command-line arguments into the config (mmpretrain semantics)."""
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
    if args.resume == 'auto':
        # mmengine's own lookup trusts work_dir/last_checkpoint, which a kill can truncate.
        cfg.resume = True
        cfg.load_from = find_latest_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', ConfigDict())
        cfg.auto_scale_lr.enable = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.quiet:
        cfg.console_log_level = 'WARNING'
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    cfg = prepare_launch(cfg, args.launcher)
    setup_torch_threads(cfg)
    register_all_modules(init_default_scope=False)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
