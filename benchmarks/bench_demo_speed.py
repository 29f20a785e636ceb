#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Pre-training throughput of ``make demo``: the old demo's settings against the study's.

*Before* is the demo of a checkout from before the SSL study (``--before-repo``, e.g.
``git worktree add /tmp/mmfer-before 01a9a5a``), run by **its own** ``tools/train.py`` with
the settings its ``tools/demo.sh`` / ``tools/misc/run_demo.py`` used: full-width ResNet-18 at
64 px, batch 32, 2 dataloader workers, ``OMP_NUM_THREADS=2``, the three-view ContraWarping
pipeline (``configs/contrawarp/byol_r18_synthetic.py``) and the BYOL baseline that ran the same
pipeline (``configs/byol/byol_r18_synthetic.py``). *After* is this checkout's study rows
(:data:`mmfer.apis.ssl_study.METHODS`, CPU preset sizes: narrow ResNet-18 at 48 px, batch 64,
each method only its own views, 1 worker, threads from
:func:`mmfer.utils.setup_torch_threads`), run by this checkout's ``tools/train.py``.

Every setting trains ``--iters`` iterations on synthetic faces written to a temporary folder
(with the logger at every iteration); seconds per iteration is the mean of mmengine's
per-iteration ``time`` (data waiting included) after the first ``--skip`` iterations. Images
per minute = batch / (s/it) * 60 is the comparable number (batches differ). The 1-minute load
average before and after each setting is printed: run it on a quiet machine and under load.
Nothing is asserted; the last line is ``BENCH_RESULT {json}``.

Usage::

    python benchmarks/bench_demo_speed.py --before-repo /tmp/mmfer-before \\
        [--after byol cw_byol_rw_landmark_ld] [--iters 45] [--skip 15]
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BEFORE = (('before: ContraWarping-BYOL RW\u2020+LD (R18, 64 px, b32, 2 workers, 2 threads)',
           'configs/contrawarp/byol_r18_synthetic.py'),
          ('before: BYOL (the same 3-view pipeline)', 'configs/byol/byol_r18_synthetic.py'))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before-repo', help='a checkout from before the study (its tools/train.py '
                   'and configs run the "before" rows); omitted: only the "after" rows')
    p.add_argument('--after', nargs='+', default=['byol', 'cw_byol_rw_landmark_ld'],
                   help='study rows (mmfer.apis.ssl_study.METHODS keys)')
    p.add_argument('--iters', type=int, default=45)
    p.add_argument('--skip', type=int, default=15, help='untimed first iterations')
    p.add_argument('--out', help='append the rows to this JSON-lines file')
    args = p.parse_args(argv)
    if args.skip >= args.iters:
        p.error(f'--skip ({args.skip}) must be below --iters ({args.iters})')
    from mmfer.apis.ssl_study import METHODS
    for key in args.after:
        if key not in METHODS or METHODS[key].config is None:
            p.error(f'--after {key}: not a pre-training row of the study '
                    f'({", ".join(k for k, m in METHODS.items() if m.config)})')
        if METHODS[key].data == 'videos':
            p.error(f'--after {key}: reads videos; choose a row that reads stills')
    if args.before_repo and not osp.isfile(osp.join(args.before_repo, BEFORE[0][1])):
        p.error(f'--before-repo {args.before_repo}: no {BEFORE[0][1]} (a checkout from before '
                'the study is needed, e.g. git worktree add /tmp/mmfer-before 01a9a5a)')
    return args


def seconds_per_iter(work_dir: str, skip: int) -> float:
    """Mean of mmengine's per-iteration ``time`` after ``skip`` iterations."""
    from mmfer.visualization.log_analysis import cal_train_time, load_scalars
    return cal_train_time([r for r in load_scalars(work_dir)['train'] if r['step'] > skip])['mean']


def train(repo: str, config: str, work_dir: str, options: List[str], env: Dict[str, str]):
    cmd = [sys.executable, osp.join(repo, 'tools', 'train.py'), config, '--work-dir', work_dir,
           '--cfg-options', *options]
    full_env = dict(os.environ, PYTHONPATH=repo, **env)
    proc = subprocess.run(cmd, cwd=repo, env=full_env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed:\n{proc.stderr[-3000:]}')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmfer.apis.ssl_study import METHODS, PRESETS, run_config
    from mmfer.datasets.synthetic import write_face_folder
    preset = PRESETS['cpu']
    tmp = tempfile.mkdtemp(prefix='bench_demo_speed_')
    rows = []
    n = args.iters
    log = ['default_hooks.logger.interval=1', 'log_processor.window_size=1',
           'default_hooks.checkpoint.interval=100000']
    settings = []
    if args.before_repo:
        data64 = osp.join(tmp, 'faces64')
        write_face_folder(data64, num=600, image_size=64, seed=0, num_identities=60)
        warm = 5
        for label, config in BEFORE:
            settings.append((label, 32, lambda w, c=config: train(
                args.before_repo, c, w,
                [f'train_dataloader.dataset.data_root={data64}', 'train_dataloader.batch_size=32',
                 'train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True',
                 f'train_cfg.max_iters={n}', f'param_scheduler.0.end={warm}',
                 f'param_scheduler.1.begin={warm}', f'param_scheduler.1.T_max={n - warm}',
                 f'param_scheduler.1.end={n}', *log], dict(OMP_NUM_THREADS='2'))))
    data48 = osp.join(tmp, 'faces48')
    write_face_folder(data48, num=600, image_size=preset.image_size, seed=0, num_identities=300)
    for key in args.after:
        method = METHODS[key]

        def run_after(w, m=method):
            cfg = run_config(m.config, preset, 0, w, data48, iters=n)
            cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
            cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                                interval=100000)
            cfg.log_processor = dict(by_epoch=False, window_size=1)
            os.makedirs(w, exist_ok=True)
            path = osp.join(w, 'config.py')
            cfg.dump(path)
            env = {k: v for k, v in os.environ.items() if k == 'OMP_NUM_THREADS'}
            train(REPO, path, w, ['randomness.seed=0'], env)
        settings.append((f'after: {method.label} (R18-w16, {preset.image_size} px, '
                         f'b{preset.batch_size}, {preset.workers} worker)', preset.batch_size,
                         run_after))
    for i, (label, batch, run) in enumerate(settings):
        work = osp.join(tmp, f'run{i}')
        load0 = os.getloadavg()[0]
        run(work)
        spi = seconds_per_iter(work, args.skip)
        row = dict(label=label, batch=batch, s_per_it=round(spi, 4),
                   it_per_min=round(60 / spi, 1), img_per_min=round(60 * batch / spi),
                   load_start=round(load0, 2), load_end=round(os.getloadavg()[0], 2),
                   time=time.strftime('%Y-%m-%d %H:%M'))
        rows.append(row)
        print(f'{label:75s} {spi:6.3f} s/it {60 / spi:6.1f} it/min {60 * batch / spi:7.0f} '
              f'img/min  load {load0:.2f} -> {row["load_end"]:.2f}', flush=True)
    if args.out:
        with open(args.out, 'a') as f:
            for row in rows:
                f.write(json.dumps(row) + '\n')
    print('BENCH_RESULT ' + json.dumps(dict(iters=n, skip=args.skip, rows=rows)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
