#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Throughput of the ContraWarping pre-training data pipeline, per worker, and where time goes.

The dataset is mmfer's :class:`FaceFolderDataset` (it lists the files; ``LoadFaceImage`` decodes
them) with the view pipeline of
``configs/contrawarp/contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py``
(``ContraWarpViews``: x1 and x2 augmentation
pipelines, ``RandomLocalWarp`` with landmark centres for x3, MSRAHeatmap targets; then
``PackContraWarpInputs``), resized to ``--img-size`` (224 by default: the paper's setting,
heatmaps ``img_size / 4``). Faces are synthetic 112 px crops (the size of MS1M's) written to a
temporary folder, or an existing folder given with ``--data-root``.

Two passes over the same images in one process (one thread: what one DataLoader worker does):

1. plain: ``dataset[i]`` for every image -> images/s per worker;
2. instrumented: every stage timed (decode, each transform of the x1 and x2 pipelines, the
   local warp, heatmap encoding, the rest of ``ContraWarpViews``, packing, dataset overhead)
   -> a table of ms/image and % of the total.

With ``--workers N`` (N > 0) a third measurement runs a ``torch.utils.data.DataLoader`` with N
worker processes and ``default_collate`` (images/s in total and per worker). The last line is
``BENCH_RESULT {json}``. Timings are printed, never asserted.

Usage::

    python benchmarks/bench_dataloader.py [--img-size 224] [--num-images 200] [--passes 1]
        [--data-root DIR --data-prefix images --landmark-file landmarks.npz] [--workers 0]
"""
import argparse
import collections
import copy
import json
import os
import os.path as osp
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'contrawarp',
                  'contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py')
DECODE = 'decode (read + cv2.imdecode)'  # the LoadFaceImage stage


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--img-size', type=int, default=224, help='view size of the pipeline')
    p.add_argument('--num-images', type=int, default=200,
                   help='synthetic images to write (or the first N of --data-root)')
    p.add_argument('--src-size', type=int, default=112, help='side of the synthetic faces')
    p.add_argument('--passes', type=int, default=1, help='passes over the images per measure')
    p.add_argument('--data-root', default=None,
                   help='existing FaceFolderDataset root (default: synthetic faces in a temp dir)')
    p.add_argument('--data-prefix', default='images')
    p.add_argument('--landmark-file', default='landmarks.npz')
    p.add_argument('--workers', type=int, default=0,
                   help='also time a DataLoader with this many worker processes (0: skip)')
    p.add_argument('--batch-size', type=int, default=32, help='DataLoader batch size')
    p.add_argument('--config', default=CONFIG, help='config whose contrawarp_views is used')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    for name in ('img_size', 'num_images', 'src_size', 'passes', 'batch_size'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if args.img_size % 4:
        p.error(f'--img-size must be a multiple of 4 (heatmaps are img_size / 4), '
                f'got {args.img_size}')
    if args.workers < 0:
        p.error(f'--workers must be >= 0, got {args.workers}')
    return args


def views_config(cfg, img_size: int) -> dict:
    """The config's ``contrawarp_views`` with every size set to ``img_size``."""
    if 'contrawarp_views' not in cfg:
        raise KeyError(f'{cfg.filename}: no top-level contrawarp_views to benchmark')
    views = copy.deepcopy(cfg.contrawarp_views)
    for pipe in views['view_pipelines']:
        for t in pipe:
            if t['type'] in ('FaceResize', 'RandomResizedCrop'):
                t['scale'] = img_size
    if views.get('codec') is not None:
        hm = img_size // 4
        views['codec'] = dict(views['codec'], input_size=(img_size, img_size),
                              heatmap_size=(hm, hm))
    return views


class Timed:
    """Wrap a callable and add its wall time to ``acc[name]`` (seconds)."""

    def __init__(self, fn, name: str, acc: dict) -> None:
        self.fn, self.name, self.acc = fn, name, acc

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        out = self.fn(*args, **kwargs)
        self.acc[self.name] += time.perf_counter() - t0
        return out

    def __getattr__(self, item):  # e.g. Compose.transforms, RandomLocalWarp.center_mode
        return getattr(self.fn, item)


def transform_name(t) -> str:
    name = type(t).__name__
    inner = getattr(t, 'transforms', None)
    if inner is not None:  # RandomApply / RandomChoice hold a Compose or a list
        inner = getattr(inner, 'transforms', inner)
        name += '(' + ', '.join(type(i).__name__ for i in inner) + ')'
    return name


def instrument(dataset, acc: dict) -> list:
    """Time every stage of ``dataset``; returns the (row name, depth) list in display order."""
    import mmfer.datasets.transforms.contrawarp_views as cwv_module
    from mmfer.datasets.transforms import ContraWarpViews

    rows = []
    outer = dataset.pipeline.transforms
    for i, t in enumerate(outer):
        name = transform_name(t) if not isinstance(t, ContraWarpViews) else 'ContraWarpViews'
        name = DECODE if name == 'LoadFaceImage' else name
        rows.append((name, 0))
        if isinstance(t, ContraWarpViews):
            for view in ('x1', 'x2'):
                attr = f'pipeline_{view}'
                compose = getattr(t, attr)
                rows.append((f'{view} pipeline', 1))
                seen = collections.Counter()
                for j, sub in enumerate(compose.transforms):
                    base = transform_name(sub)
                    seen[base] += 1
                    sub_name = f'{view}: {base}' + (f' #{seen[base]}' if seen[base] > 1 else '')
                    rows.append((sub_name, 2))
                    compose.transforms[j] = Timed(sub, sub_name, acc)
                setattr(t, attr, Timed(compose, f'{view} pipeline', acc))
            rows.append((f'x3: {transform_name(t.warp)}', 1))
            t.warp = Timed(t.warp, rows[-1][0], acc)
            if t.codec is not None:
                rows.append((f'heatmap encoding ({type(t.codec).__name__}, x1 + x3)', 1))
                cwv_module.encode_heatmaps = Timed(cwv_module.encode_heatmaps, rows[-1][0], acc)
            rows.append(('ContraWarpViews other (copies, checks, weights)', 1))
        outer[i] = Timed(t, name, acc)
    rows.append(('dataset overhead (get_data_info, copies)', 0))
    return rows


def uninstrument() -> None:
    import mmfer.datasets.transforms.contrawarp_views as cwv_module
    from mmfer.datasets.transforms.heatmap import encode_heatmaps
    cwv_module.encode_heatmaps = encode_heatmaps


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    sys.path.insert(0, REPO)
    import cv2
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.logging import MMLogger

    from mmfer.datasets import FaceFolderDataset
    from mmfer.utils import register_all_modules
    cv2.setNumThreads(1)
    torch.set_num_threads(1)  # a DataLoader worker runs one thread
    register_all_modules(init_default_scope=True)
    MMLogger.get_instance('mmengine', log_level='WARNING')
    np.random.seed(args.seed)

    tmp = None
    root = args.data_root
    if root is None:
        from mmfer.datasets.synthetic import write_face_folder
        tmp = tempfile.TemporaryDirectory(prefix='bench_dataloader_')
        root = tmp.name
        t0 = time.perf_counter()
        write_face_folder(root, num=args.num_images, image_size=args.src_size, seed=args.seed)
        print(f'wrote {args.num_images} synthetic {args.src_size} px faces to {root} in '
              f'{time.perf_counter() - t0:.1f}s')
    elif not osp.isdir(root):
        raise FileNotFoundError(f'--data-root {root} is not a folder')

    cfg = Config.fromfile(args.config)
    views = views_config(cfg, args.img_size)
    dataset = FaceFolderDataset(
        data_root=root, data_prefix=args.data_prefix, landmark_file=args.landmark_file,
        missing_landmarks='drop',
        pipeline=[dict(type='LoadFaceImage'), views, dict(type='PackContraWarpInputs')],
        indices=None)
    n = min(args.num_images, len(dataset))
    if n == 0:
        raise ValueError(f'{root}: no images with landmarks to benchmark')
    print(f'pipeline at {args.img_size} px from {args.config} (x1: '
          f'{len(views["view_pipelines"][0])} transforms, x2: '
          f'{len(views["view_pipelines"][1])}, warp {views["warp"]["type"]}('
          f'{views["warp"].get("center_mode")}), codec {views.get("codec", {}).get("type")}); '
          f'{n} images x {args.passes} pass(es), 1 thread', flush=True)

    # warm-up (lazy imports, codec caches)
    for i in range(min(4, n)):
        dataset[i]

    # 1) plain throughput
    t0 = time.perf_counter()
    for _ in range(args.passes):
        for i in range(n):
            out = dataset[i]
    t_plain = time.perf_counter() - t0
    count = n * args.passes
    ips = count / t_plain
    shapes = [tuple(x.shape) for x in out['inputs']]
    print(f'throughput: {count} images in {t_plain:.2f}s = {ips:.1f} images/s per worker '
          f'({1e3 / ips:.2f} ms/image); views {shapes}', flush=True)

    # 2) instrumented breakdown
    acc = collections.defaultdict(float)
    rows = instrument(dataset, acc)
    t0 = time.perf_counter()
    try:
        for _ in range(args.passes):
            for i in range(n):
                dataset[i]
    finally:
        uninstrument()
    t_inst = time.perf_counter() - t0
    views_total = acc['ContraWarpViews']
    children = [name for name, depth in rows if depth == 1 and 'other' not in name]
    acc['ContraWarpViews other (copies, checks, weights)'] = max(
        views_total - sum(acc[c] for c in children), 0.0)
    top = [name for name, depth in rows if depth == 0 and 'overhead' not in name]
    acc['dataset overhead (get_data_info, copies)'] = max(
        t_inst - sum(acc[c] for c in top), 0.0)

    width = max(len('  ' * d + name) for name, d in rows) + 2
    print(f'\n{"stage":{width}s} {"ms/image":>9s} {"% total":>8s}')
    print('-' * (width + 19))
    breakdown = {}
    for name, depth in rows:
        ms = acc[name] / count * 1e3
        breakdown[name] = round(ms, 4)
        print(f'{"  " * depth + name:{width}s} {ms:9.3f} {100 * acc[name] / t_inst:7.1f}%')
    print('-' * (width + 19))
    print(f'{"total (instrumented pass)":{width}s} {t_inst / count * 1e3:9.3f} {100.0:7.1f}%')

    result = dict(benchmark='dataloader', images_per_s=round(ips, 2),
                  ms_per_image=round(1e3 / ips, 3), img_size=args.img_size, num_images=n,
                  passes=args.passes, instrumented_ms_per_image=round(t_inst / count * 1e3, 3),
                  breakdown_ms=breakdown)

    # 3) optional: a real DataLoader with worker processes
    if args.workers > 0:
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(dataset, range(n)), batch_size=args.batch_size,
            num_workers=args.workers, collate_fn=default_collate, shuffle=False)
        t0 = time.perf_counter()
        got = 0
        for _ in range(args.passes):
            for batch in loader:
                got += len(batch['data_samples'])
        t_dl = time.perf_counter() - t0
        print(f'\nDataLoader ({args.workers} workers, batch {args.batch_size}, '
              f'default_collate, start-up included): {got / t_dl:.1f} images/s = '
              f'{got / t_dl / args.workers:.1f} per worker')
        result.update(loader_workers=args.workers, loader_images_per_s=round(got / t_dl, 2))
    if tmp is not None:
        tmp.cleanup()
    print('BENCH_RESULT ' + json.dumps(result), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
