#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""ContraWarping's data pipeline against BYOL's, per worker, and where its time goes.

The dataset is mmfer's :class:`FaceFolderDataset` (it lists the files; ``LoadFaceImage`` decodes
them) with the view pipeline of
``configs/contrawarp/contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py``
(``ContraWarpViews``: x1 and x2 augmentation
pipelines, ``RandomLocalWarp`` with landmark centres for x3, MSRAHeatmap targets; then
``PackContraWarpInputs``), resized to ``--img-size`` (224 by default: the paper's setting,
heatmaps ``img_size / 4``). Faces are synthetic 112 px crops (the size of MS1M's) written to a
temporary folder, or an existing folder given with ``--data-root``.

References, on the same images in the same process (one thread: what one DataLoader worker
does), measured interleaved with ContraWarping ``--repeats`` times:

- ``byol (mmpretrain)``: mmpretrain's own BYOL two-view pipeline
  (``configs/_base_/datasets/imagenet_bs32_byol.py`` shipped with mmpretrain: its
  ``LoadImageFromFile`` and ``ColorJitter``, crops resized to ``--img-size``). mmcv 2.0's
  ``adjust_hue`` fails under numpy 2 for negative factors, so in this process ``mmcv.adjust_hue``
  is replaced by the same computation with the shift fixed (``pil_adjust_hue_reference``);
  nothing else is changed. The goal: ContraWarping's three views + heatmaps cost <= 1.5x this.
- ``byol (mmfer)``: the BYOL baseline of the same config (``baseline_train_pipeline``: the
  same views with mmfer's ``SafeColorJitter`` and ``LoadFaceImage``), what mmfer's BYOL runs.

Then an instrumented ContraWarping pass times every stage (decode, each transform of the x1
and x2 pipelines, the local warp, heatmap encoding, the rest of ``ContraWarpViews``, packing,
dataset overhead) -> a table of ms/image and % of the total.

With ``--workers N`` (N > 0) a last measurement runs a ``torch.utils.data.DataLoader`` with N
worker processes and ``default_collate`` (images/s in total and per worker). The last line is
``BENCH_RESULT {json}``. Timings are printed, never asserted.

Usage::

    python benchmarks/bench_dataloader.py [--img-size 224] [--num-images 200] [--passes 1]
        [--repeats 3] [--data-root DIR --data-prefix images --landmark-file landmarks.npz]
        [--workers 0]
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
    p.add_argument('--repeats', type=int, default=3,
                   help='interleaved measurements of each pipeline (min and median reported)')
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
    for name in ('img_size', 'num_images', 'src_size', 'passes', 'repeats', 'batch_size'):
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


def resize_pipeline(pipeline, img_size: int):
    """A copy of a (nested) pipeline config with every ``RandomResizedCrop`` at ``img_size``."""
    if isinstance(pipeline, dict):
        out = {k: resize_pipeline(v, img_size) for k, v in pipeline.items()}
        if out.get('type') in ('RandomResizedCrop', 'FaceResize'):
            out['scale'] = img_size
        return out
    if isinstance(pipeline, (list, tuple)):
        return [resize_pipeline(t, img_size) for t in pipeline]
    return pipeline


def mmpretrain_byol_pipeline(img_size: int) -> list:
    """mmpretrain's BYOL ``train_pipeline`` (its shipped base config), crops at ``img_size``."""
    import mmpretrain
    from mmengine.config import Config
    path = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs', '_base_', 'datasets',
                    'imagenet_bs32_byol.py')
    return resize_pipeline(Config.fromfile(path).train_pipeline, img_size)


def numpy2_safe_mmcv_hue() -> None:
    """Let mmpretrain's ``ColorJitter`` run under numpy 2: ``mmcv.adjust_hue`` with only its
    ``np.uint8(negative)`` overflow fixed (the same PIL computation)."""
    import mmcv

    from mmfer.datasets.transforms.photometric import adjust_hue, pil_adjust_hue_reference

    def safe(img, hue_factor, backend=None):
        if (backend or 'cv2') == 'pillow':
            return pil_adjust_hue_reference(img, hue_factor)
        return adjust_hue(img, hue_factor, 'cv2')

    mmcv.adjust_hue = safe


def time_pass(dataset, n: int, passes: int, seed: int) -> float:
    """Seconds per image of ``passes`` passes over the first ``n`` samples."""
    import random

    import numpy as np
    np.random.seed(seed)
    random.seed(seed)
    t0 = time.perf_counter()
    for _ in range(passes):
        for i in range(n):
            dataset[i]
    return (time.perf_counter() - t0) / (n * passes)


def stats(values) -> dict:
    import numpy as np
    return dict(min=float(np.min(values)), median=float(np.median(values)))


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
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
    load_start = os.getloadavg()

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

    def face_dataset(pipeline):
        return FaceFolderDataset(data_root=root, data_prefix=args.data_prefix,
                                 landmark_file=args.landmark_file, missing_landmarks='drop',
                                 pipeline=pipeline, indices=None)

    dataset = face_dataset([dict(type='LoadFaceImage'), views, dict(type='PackContraWarpInputs')])
    numpy2_safe_mmcv_hue()
    pipelines = {'contrawarp (mmfer)': dataset,
                 'byol (mmpretrain)': face_dataset(mmpretrain_byol_pipeline(args.img_size))}
    if 'baseline_train_pipeline' in cfg:
        pipelines['byol (mmfer)'] = face_dataset(
            resize_pipeline(cfg.baseline_train_pipeline, args.img_size))
    n = min(args.num_images, len(dataset))
    if n == 0:
        raise ValueError(f'{root}: no images with landmarks to benchmark')
    print(f'pipeline at {args.img_size} px from {args.config} (x1: '
          f'{len(views["view_pipelines"][0])} transforms, x2: '
          f'{len(views["view_pipelines"][1])}, warp {views["warp"]["type"]}('
          f'{views["warp"].get("center_mode")}), codec {views.get("codec", {}).get("type")}); '
          f'{n} images x {args.passes} pass(es) x {args.repeats} repeats, 1 thread; '
          f'load average {load_start[0]:.2f}', flush=True)

    # warm-up (lazy imports, codec and colour tables)
    for ds in pipelines.values():
        for i in range(min(4, n)):
            ds[i]
    out = dataset[0]
    shapes = [tuple(x.shape) for x in out['inputs']]

    # 1) interleaved passes: ContraWarping and the references, order rotated every repeat
    names = list(pipelines)
    secs = {name: [] for name in names}
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            secs[name].append(time_pass(pipelines[name], n, args.passes, args.seed + r))
    cw = np.array(secs['contrawarp (mmfer)'])
    ratios = {name: cw / np.array(secs[name]) for name in names[1:]}
    print(f'\n{"pipeline":22s} {"views":>5s} {"ms/image min":>13s} {"median":>8s} '
          f'{"images/s (median)":>18s}')
    for name in names:
        st = stats(secs[name])
        n_views = 3 if name.startswith('contrawarp') else 2
        print(f'{name:22s} {n_views:5d} {1e3 * st["min"]:13.2f} {1e3 * st["median"]:8.2f} '
              f'{1 / st["median"]:18.1f}')
    for name, ratio in ratios.items():
        st = stats(ratio)
        print(f'ratio contrawarp / {name}: min {st["min"]:.3f}, median {st["median"]:.3f} '
              f'(paired per repeat; goal <= 1.5 vs mmpretrain)')
    ips = 1 / float(np.median(cw))
    count = n * args.passes
    print(f'throughput: {ips:.1f} images/s per worker ({1e3 / ips:.2f} ms/image, median); '
          f'views {shapes}', flush=True)

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

    load_end = os.getloadavg()
    print(f'load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end')
    result = dict(benchmark='dataloader', images_per_s=round(ips, 2),
                  ms_per_image=round(1e3 / ips, 3), img_size=args.img_size, num_images=n,
                  passes=args.passes, repeats=args.repeats,
                  instrumented_ms_per_image=round(t_inst / count * 1e3, 3),
                  breakdown_ms=breakdown, goal=1.5,
                  ms_per_image_by_pipeline={
                      name: {k: round(1e3 * v, 3) for k, v in stats(t).items()}
                      for name, t in secs.items()},
                  ratio_vs={name.split(' ')[1].strip('()'): {k: round(v, 4) for k, v in
                                                              stats(r).items()}
                            for name, r in ratios.items()},
                  load_average=[round(load_start[0], 2), round(load_end[0], 2)])

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
