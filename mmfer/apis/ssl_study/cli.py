# Copyright (c) mmfer contributors. All rights reserved.
"""Command line of the study (``tools/misc/ssl_benchmark.py``, ``make demo``)."""
import argparse
import os
import os.path as osp
import time
import warnings
from typing import Optional, Sequence

from .presets import METHODS, PRESETS

#: Import-time and per-image warnings of the OpenMMLab stack that say nothing about a run.
QUIET_WARNINGS = (
    r'Fail to import ``MultiScaleDeformableAttention``',
    r"Only use 'alpha' for pillow backend",
)


def build_parser(default_preset: str = 'cpu', description: str = '') -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description or 'The SSL study on synthetic faces')
    p.add_argument('--preset', default=default_preset, choices=sorted(PRESETS),
                   help='sizes and budgets (cpu: make demo, <= 15 min on 2 cores; gpu: one '
                   'GPU; tiny: tests)')
    p.add_argument('--work-dir', help='runs, figures and report.md (default '
                   'work_dirs/ssl_study/<preset>); finished runs in it are reused')
    p.add_argument('--data-root', help='the synthetic data (default data/ssl_study/<preset>); '
                   'written when missing, checked when present')
    p.add_argument('--methods', nargs='+', choices=list(METHODS), default=list(METHODS),
                   help='rows to run')
    p.add_argument('--seeds', nargs='+', type=int, help="default: the preset's (0 1 2)")
    p.add_argument('--threads', type=int, default=None,
                   help='torch threads (default: from the CPUs, the dataloader workers and '
                   'the load; OMP_NUM_THREADS also works)')
    p.add_argument('--calibrate', nargs='+', metavar='KEY=VALUE[,KEY=VALUE]',
                   help='calibration instead of the study: pre-train BYOL once per point '
                   '(keys lr, momentum, weight_decay, base_momentum, batch_size, iters) and '
                   'score it on the bank\'s validation people (never the test split)')
    p.add_argument('--no-figures', action='store_true', help='skip the curves and t-SNE')
    return p


def main(argv: Optional[Sequence[str]] = None, default_preset: str = 'cpu',
         default_work_dir: Optional[str] = None, description: str = '') -> int:
    args = build_parser(default_preset, description).parse_args(argv)
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings('ignore', message=pattern)
    from mmengine.logging import MMLogger

    from mmfer.utils import quiet_console, register_all_modules, setup_torch_threads
    from .study import StudyLog, run_study
    preset = PRESETS[args.preset]
    work_dir = args.work_dir or default_work_dir or osp.join('work_dirs', 'ssl_study',
                                                             preset.name)
    data_root = args.data_root or osp.join('data', 'ssl_study', preset.name)
    os.makedirs(work_dir, exist_ok=True)
    # the study's own log file; the console shows warnings only (each run has its log too)
    logger = MMLogger.get_instance(f'ssl_study_{time.time_ns()}', log_level='INFO',
                                   log_file=osp.join(work_dir, 'study_full.log'))
    quiet_console(logger, 'WARNING', progress=False)
    register_all_modules(init_default_scope=True)
    log = StudyLog(work_dir)
    threads = setup_torch_threads(num_workers=preset.workers, threads=args.threads)
    log(f'torch threads: {threads} (dataloader workers per run: {preset.workers})')
    if args.calibrate:
        from .calibration import run_calibration
        run_calibration(preset, work_dir, data_root, args.calibrate,
                        seed=(args.seeds or [0])[0], log=log)
        return 0
    run_study(preset, work_dir, data_root, methods=args.methods, seeds=args.seeds, log=log,
              figures=not args.no_figures)
    return 0
