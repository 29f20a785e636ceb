#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Seconds per iteration of a short synthetic BYOL pre-training for torch threads x workers.

The BYOL row of ``make demo``'s study: ``configs/ssl_study/byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py``
(mmpretrain's BYOL, ResNet-18, two views at 48 px, SGD) on synthetic faces written to a
temporary folder (``FaceFolderDataset``, as the demo) or rendered on the fly
(``--on-the-fly``: :class:`~mmfer.datasets.SyntheticFaceDataset`). For every combination of
backbone width (``--widths``: ResNet-18 ``base_channels`` = ``stem_channels``; 64 is the full
network, 16 the narrow one of the synthetic study), batch size, torch threads and dataloader
workers, the loop of ``tools/train.py`` (``model.train_step`` on batches from the
dataloader) runs ``--warmup`` + ``--iters`` iterations; the median seconds of the timed
iterations (data waiting included) is reported with the 1-minute load average before and
after, and the thread count :func:`mmfer.utils.choose_num_threads` picks for that worker
count and that load. ``--rounds`` > 1 repeats the whole grid (interleaving the settings in time, so that
load changes hit all of them) and reports the median over rounds.

The numbers depend on the machine's other load: run it on a quiet machine and under load
(the printed load averages say which). Nothing is asserted. A final ``BENCH_RESULT {json}``
line holds every row.

Usage::

    python benchmarks/bench_threads.py [--threads 1 2] [--workers 0 1 2] [--widths 16 64]
        [--batch-sizes 32 64] [--img-size 64] [--iters 5] [--warmup 2] [--rounds 1]
"""
import argparse
import itertools
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'ssl_study',
                  'byol_resnet18-w16_1xb64-sgd-coslr_synthetic48.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--widths', type=int, nargs='+', default=[16, 64],
                   help='ResNet-18 base/stem channels (64 = full width)')
    p.add_argument('--batch-sizes', type=int, nargs='+', default=[32, 64])
    p.add_argument('--img-size', type=int, default=64)
    p.add_argument('--iters', type=int, default=5, help='timed iterations per setting')
    p.add_argument('--warmup', type=int, default=2, help='untimed iterations first')
    p.add_argument('--rounds', type=int, default=1, help='repeats of the whole grid')
    p.add_argument('--num-images', type=int, default=2000, help='faces in the data folder')
    p.add_argument('--on-the-fly', action='store_true',
                   help='render faces in the dataloader (SyntheticFaceDataset) instead of '
                   'reading JPEGs written first')
    p.add_argument('--config', default=CONFIG)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    for name in ('threads', 'widths', 'batch_sizes'):
        if min(getattr(args, name)) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1')
    if min(args.workers) < 0 or args.iters < 1 or args.warmup < 0 or args.rounds < 1:
        p.error('--workers >= 0, --iters >= 1, --warmup >= 0, --rounds >= 1')
    return args


def uptime() -> str:
    try:
        return subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()
    except OSError:
        return 'load average: %.2f, %.2f, %.2f' % os.getloadavg()


def build_dataset_cfg(cfg, args, root):
    pipeline = cfg.train_dataloader.dataset.pipeline
    if args.on_the_fly:
        return dict(type='SyntheticFaceDataset', num_samples=100000, num_identities=1000,
                    image_size=args.img_size, seed=args.seed, pipeline=pipeline)
    return dict(type='FaceFolderDataset', data_root=root, data_prefix='images',
                landmark_file='landmarks.npz', missing_landmarks='drop', pipeline=pipeline)


def build_model(cfg, width: int):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper

    from mmfer.registry import MODELS
    model_cfg = cfg.model.copy()
    model_cfg.backbone = dict(model_cfg.backbone, base_channels=width, stem_channels=width)
    model_cfg.neck = dict(model_cfg.neck, in_channels=8 * width)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def run_setting(cfg, args, root, width, batch, threads, workers) -> dict:
    import torch
    from mmengine.runner import Runner
    torch.set_num_threads(threads)
    model, optim = build_model(cfg, width)
    loader = Runner.build_dataloader(
        dict(batch_size=batch, num_workers=workers, persistent_workers=False,
             drop_last=True, sampler=dict(type='DefaultSampler', shuffle=True),
             collate_fn=dict(type='default_collate'),
             dataset=build_dataset_cfg(cfg, args, root)), seed=args.seed)
    load_before = os.getloadavg()[0]
    times = []
    it = iter(loader)
    t0 = time.perf_counter()
    for i in range(args.warmup + args.iters):
        try:
            data = next(it)
        except StopIteration:
            it = iter(loader)
            data = next(it)
        model.train_step(data, optim)
        t1 = time.perf_counter()
        if i >= args.warmup:
            times.append(t1 - t0)
        t0 = t1
    del it, loader
    return dict(width=width, batch=batch, threads=threads, workers=workers,
                s_per_iter=statistics.median(times), s_min=min(times),
                load_before=round(load_before, 2), load_after=round(os.getloadavg()[0], 2))


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.utils.dl_utils import set_multi_processing

    from mmfer.utils import available_cpus, choose_num_threads, register_all_modules
    register_all_modules(init_default_scope=True)
    MMLogger.get_instance('mmengine', log_level='ERROR')  # not the frozen-parameter notes
    set_multi_processing(mp_start_method='fork', opencv_num_threads=0)  # as the Runner does
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    cfg = Config.fromfile(args.config)
    # BYOL's CosineEMA reads the schedule length from the message hub, as under the Runner
    MessageHub.get_current_instance().update_info('max_iters', cfg.train_cfg.max_iters)

    start = uptime()
    print(f'start: {start}', flush=True)
    print(f'{available_cpus()} CPUs available; torch {torch.__version__}; config '
          f'{osp.relpath(args.config, REPO)} at {args.img_size} px', flush=True)
    tmp = None
    root = None
    if not args.on_the_fly:
        from mmfer.datasets.synthetic import write_face_folder
        tmp = tempfile.TemporaryDirectory(prefix='bench_threads_')
        root = tmp.name
        t0 = time.perf_counter()
        write_face_folder(root, num=args.num_images, image_size=args.img_size, seed=args.seed,
                          num_identities=max(1, args.num_images // 10))
        print(f'wrote {args.num_images} faces ({args.img_size} px) in '
              f'{time.perf_counter() - t0:.1f} s', flush=True)

    grid = list(itertools.product(args.widths, args.batch_sizes, args.threads, args.workers))
    runs = {g: [] for g in grid}
    for r in range(args.rounds):
        for g in grid:
            res = run_setting(cfg, args, root, *g)
            runs[g].append(res)
            print(f'round {r + 1}: width {g[0]:2d} batch {g[1]:3d} threads {g[2]} workers '
                  f'{g[3]}: {res["s_per_iter"]:.3f} s/iter (min {res["s_min"]:.3f}; load '
                  f'{res["load_before"]:.2f} -> {res["load_after"]:.2f})', flush=True)
    end = uptime()
    print(f'end: {end}', flush=True)

    rows = []
    for g, rs in runs.items():
        rows.append(dict(width=g[0], batch=g[1], threads=g[2], workers=g[3],
                         s_per_iter=round(statistics.median(r['s_per_iter'] for r in rs), 4),
                         load_before=rs[0]['load_before'], load_after=rs[-1]['load_after'],
                         auto_threads=choose_num_threads(g[3], load=rs[0]['load_before'])))
    print('\n| width | batch | workers | threads | s/iter | vs best of row | auto threads | '
          'load 1-min (before -> after) |')
    print('|---|---|---|---|---|---|---|---|')
    for w, b, k in itertools.product(args.widths, args.batch_sizes, args.workers):
        sub = [r for r in rows if (r['width'], r['batch'], r['workers']) == (w, b, k)]
        best = min(r['s_per_iter'] for r in sub)
        for r in sub:
            print(f'| {w} | {b} | {k} | {r["threads"]} | {r["s_per_iter"]:.3f} | '
                  f'{r["s_per_iter"] / best:.2f}x | {r["auto_threads"]} | '
                  f'{r["load_before"]:.2f} -> {r["load_after"]:.2f} |')
    print('BENCH_RESULT ' + json.dumps(dict(cpus=available_cpus(), img_size=args.img_size,
                                            iters=args.iters, rounds=args.rounds,
                                            on_the_fly=args.on_the_fly, uptime_start=start,
                                            uptime_end=end, rows=rows)))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
