#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Throughput of the on-the-fly synthetic faces: renderer, datasets, DataLoader.

Measures, in this process with 1 torch / OpenCV thread unless stated:

1. ``SyntheticFaceGenerator.render`` (faces/s) at each ``--sizes`` (new people and
   expressions every face, identity factors cached as in a long run);
2. ``SyntheticFaceDataset`` items/s at ``--img-size`` without a pipeline (render + item) and
   with the ContraWarping view pipeline of ``--config`` (3 views + 68-point heatmaps);
3. ``SyntheticFaceVideoDataset`` frame loads/s through ``LoadFaceImage`` (render + PNG
   encode/decode of the ``synthface://`` URI) and items/s with the SSL-FER temporal pipeline
   (anchor + TimeAug + HardNeg frames, 3 views);
4. a ``DataLoader`` over the ContraWarping dataset with ``--workers`` worker processes
   (images/s, start-up included).

Reported with the 1-minute load average (timings on a shared machine are noisy; nothing is
asserted). A final ``BENCH_RESULT {json}`` line summarises the run.

Usage::

    python benchmarks/bench_synthetic.py [--sizes 64 112 224] [--img-size 64] [--num 300]
        [--workers 2] [--batch-size 32]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'ssl_study',
                  'contrawarp-byol_resnet18-w16_1xb64-sgd-coslr_synthetic48_rw-landmark-ld.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[64, 112, 224],
                   help='render sizes of step 1')
    p.add_argument('--img-size', type=int, default=64, help='dataset image size (steps 2-4)')
    p.add_argument('--num', type=int, default=300, help='faces / items per measurement')
    p.add_argument('--workers', type=int, default=2, help='DataLoader workers (step 4)')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--config', default=CONFIG,
                   help='config whose train pipeline (ContraWarpViews) step 2 uses')
    args = p.parse_args(argv)
    if min(args.sizes) < 16 or args.img_size < 16 or args.num < 1 or args.workers < 0:
        p.error('sizes >= 16, --num >= 1, --workers >= 0')
    return args


def rate(fn, n: int) -> float:
    """Calls per second of ``fn(i)`` for i in range(n) (after 3 warm-up calls)."""
    for i in range(3):
        fn(i)
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def main(argv=None) -> int:
    args = parse_args(argv)
    import cv2
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    from mmfer.datasets.synthetic import (SyntheticFaceDataset, SyntheticFaceGenerator,
                                          SyntheticFaceVideoDataset)
    from mmfer.registry import TRANSFORMS
    from mmfer.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    MMLogger.get_instance('mmengine', log_level='WARNING')
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    np.random.seed(0)
    n = args.num
    res = dict(load_start=round(os.getloadavg()[0], 2), num=n, img_size=args.img_size)
    print(f'load average at start: {res["load_start"]:.2f} ({os.cpu_count()} CPUs)', flush=True)

    # 1. renderer
    res['render_faces_per_s'] = {}
    for size in args.sizes:
        gen = SyntheticFaceGenerator(size, seed=0)
        r = rate(lambda i: gen.render(i % 200, i % 8, 0.8, seed=i), n)
        res['render_faces_per_s'][size] = round(r, 1)
        print(f'render {size:3d} px: {r:7.1f} faces/s ({1000 / r:.2f} ms/face)', flush=True)

    # 2. still dataset, raw and with the ContraWarping pipeline
    s = args.img_size
    raw = SyntheticFaceDataset(num_samples=10 * n, num_identities=1000, image_size=s)
    r = rate(lambda i: raw[i], n)
    res['still_items_per_s'] = round(r, 1)
    print(f'SyntheticFaceDataset {s} px, no pipeline: {r:7.1f} items/s', flush=True)
    cfg = Config.fromfile(args.config)
    pipeline = cfg.train_dataloader.dataset.pipeline
    cw = SyntheticFaceDataset(num_samples=10 * n, num_identities=1000, image_size=s,
                              pipeline=pipeline)
    r = rate(lambda i: cw[i], n)
    res['contrawarp_items_per_s'] = round(r, 1)
    print(f'SyntheticFaceDataset {s} px + {osp.basename(args.config)} pipeline: {r:7.1f} '
          'items/s', flush=True)

    # 3. videos: one frame load, and the SSL-FER temporal views
    vid = SyntheticFaceVideoDataset(num_identities=50, image_size=s)
    load = TRANSFORMS.build(dict(type='LoadFaceImage'))
    step = max(1, len(vid) // (n + 3))
    r = rate(lambda i: load(vid.get_data_info(i * step)), n)
    res['video_frame_loads_per_s'] = round(r, 1)
    print(f'SyntheticFaceVideoDataset {s} px, LoadFaceImage (render + PNG): {r:7.1f} '
          'frames/s', flush=True)
    view = [dict(type='FaceResize', scale=s + s // 8), dict(type='RandomCrop', crop_size=s),
            dict(type='RandomFlip', prob=0.5)]
    ssl = SyntheticFaceVideoDataset(num_identities=50, image_size=s, pipeline=[
        dict(type='LoadFaceImage'), dict(type='TimeAug', max_offset=1.0),
        dict(type='HardNeg', min_offset=3.0),
        dict(type='ApplyToViews', transforms=view, views=('anchor', 'positive', 'hardneg')),
        dict(type='PackMultiViewInputs', view_roles=('anchor', 'positive', 'hardneg'),
             data_keys=('identity', 'video', 'frame', 'hardneg_valid'))])
    r = rate(lambda i: ssl[i * step], n)
    res['sslfer_items_per_s'] = round(r, 1)
    print(f'SyntheticFaceVideoDataset {s} px + TimeAug/HardNeg 3 views: {r:7.1f} items/s',
          flush=True)

    # 4. DataLoader
    from mmengine.dataset import default_collate
    loader = torch.utils.data.DataLoader(cw, batch_size=args.batch_size,
                                         num_workers=args.workers, collate_fn=default_collate)
    batches = max(1, n // args.batch_size)
    t0 = time.perf_counter()
    for k, _ in enumerate(loader):
        if k + 1 == batches:
            break
    r = batches * args.batch_size / (time.perf_counter() - t0)
    res['loader_images_per_s'] = round(r, 1)
    res['loader_workers'] = args.workers
    print(f'DataLoader, {args.workers} workers, batch {args.batch_size}, ContraWarping '
          f'pipeline: {r:7.1f} images/s (start-up included)', flush=True)
    res['load_end'] = round(os.getloadavg()[0], 2)
    print(f'load average at end: {res["load_end"]:.2f}', flush=True)
    print('BENCH_RESULT ' + json.dumps(res))
    return 0


if __name__ == '__main__':
    sys.exit(main())
