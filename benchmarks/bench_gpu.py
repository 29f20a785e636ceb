#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Training throughput of the paper models on one device: model only and through the loader.

For ContraWarping-BYOL R50 (RW + LD), BYOL R50, SSL-FER R50 (Table 1 row f) and EmoCo R50,
built from their configs at the paper's per-GPU batch (``train_dataloader.batch_size``: 512,
512, 64, 64), or the largest that fits (a CUDA out-of-memory halves the batch, reported):

(a) ``model``: one batch of synthetic tensors (random uint8 images of the pipeline's shapes,
    with the metadata of a real batch: landmarks, heatmaps, labels), kept on the device, and
    the training step mmengine's loop runs: ``model.train_step(data, optim_wrapper)`` (the
    model's own data preprocessor, forward, loss, backward, the config's optimizer through
    ``OptimWrapper``, or ``AmpOptimWrapper`` with ``--amp``);
(b) ``loader``: the same step fed by the config's real dataloader (its dataset class, pipeline,
    ``num_workers``, ``default_collate``; an ``InfiniteSampler``) on synthetic faces written to
    a temporary folder by :mod:`mmfer.datasets.synthetic` (MS1M-like 112 px crops with
    landmarks, VoxCeleb-like frames, AffectNet-like pictures with face boxes).

Per row: ms/iteration (median and min), images/s, peak memory (``torch.cuda.
max_memory_allocated`` on a GPU; the process's peak RSS on a CPU), and for (b) the time spent
waiting for data and whether the step is dataloader-bound (waiting > 10 % of the iteration, or
(b) > 1.1x (a)). One device, BatchNorm (the configs' SyncBN is for multi-GPU runs). The last
line is ``BENCH_RESULT {json}``; nothing is asserted about speed.

On a CPU, ``--tiny`` runs every method at 32 px, batch 4, 2 iterations, ResNet-18 with narrow
heads (what the tests run); the full sizes need a GPU (about 5 minutes on one large GPU).

Usage::

    python benchmarks/bench_gpu.py [--device cuda] [--amp] [--channels-last]
        [--methods contrawarp-byol byol sslfer emoco] [--iters 20] [--warmup 5]
        [--num-workers N] [--batch-size N] [--tiny]
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import resource
import statistics
import sys
import tempfile
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_SIZE = 32


def _cfg(path: str) -> str:
    return osp.join(REPO, 'configs', path)


#: name -> config, model changes, synthetic data, and the tiny (CPU test) model changes
METHODS = {
    'contrawarp-byol': dict(
        label='ContraWarping-BYOL R50 (RW + LD)',
        config=_cfg('contrawarp/contrawarp-byol_resnet50_8xb512-lars-coslr-50e_ms1m.py'),
        model={}, data='ms1m', img_size=224,
        tiny=dict(backbone=dict(depth=18), neck=dict(in_channels=512, hid_channels=64),
                  head=dict(predictor=dict(hid_channels=64)),
                  landmark_head=dict(in_channels=512))),
    'byol': dict(
        label='BYOL R50',
        # the ContraWarping paper's BYOL baseline config, with a ResNet-50 (as Tab. 5's R50 rows)
        config=_cfg('contrawarp/byol_resnet18_8xb512-lars-coslr-50e_ms1m.py'),
        model=dict(backbone=dict(depth=50), neck=dict(in_channels=2048)), data='ms1m',
        img_size=224,
        tiny=dict(backbone=dict(depth=18), neck=dict(in_channels=512, hid_channels=64),
                  head=dict(predictor=dict(hid_channels=64)))),
    'sslfer': dict(
        label='SSL-FER R50 (Table 1 f)',
        config=_cfg('sslfer/sslfer_resnet50_4xb64-adam-coslr-210e_voxceleb_'
                    'f-timeaug-hardneg-faceswap-maskfn.py'),
        # the MaskFN descriptor's weights only change its outputs, not its cost
        model=dict(target_generator=dict(checkpoint=None, allow_random_descriptor=True)),
        data='voxceleb', img_size=112,
        tiny=dict(backbone=dict(depth=18), neck=dict(in_channels=512, hid_channels=64),
                  target_generator=dict(eye_size=(16, 32), mouth_size=(16, 32)))),
    'emoco': dict(
        label='EmoCo R50',
        config=_cfg('emoco/emoco_resnet50_4xb64-coslr-200e_affectnet7.py'),
        model={}, data='affectnet', img_size=224,
        tiny=dict(queue_len=64, backbone=dict(depth=18),
                  neck=dict(in_channels=512, hid_channels=32))),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='auto', help="'auto' (cuda when available), 'cuda', "
                   "'cuda:N' or 'cpu'")
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    p.add_argument('--amp', action='store_true',
                   help="mixed precision with mmengine's AmpOptimWrapper (GPU only)")
    p.add_argument('--amp-dtype', default='float16', choices=['float16', 'bfloat16'])
    p.add_argument('--channels-last', action='store_true',
                   help='model and preprocessed inputs in the channels-last memory format')
    p.add_argument('--iters', type=int, default=20, help='timed iterations per measurement')
    p.add_argument('--warmup', type=int, default=5,
                   help='untimed iterations first ((b) adds one per loader worker)')
    p.add_argument('--batch-size', type=int, default=None,
                   help="per-device batch (default: the config's, i.e. the paper's)")
    p.add_argument('--num-workers', type=int, default=None,
                   help="loader workers (default: the config's, at most the CPU count)")
    p.add_argument('--num-images', type=int, default=None,
                   help='synthetic images written per method (default: 2 batches, >= 256)')
    p.add_argument('--modes', nargs='+', default=['model', 'loader'],
                   choices=['model', 'loader'])
    p.add_argument('--tiny', action='store_true',
                   help=f'{TINY_SIZE} px, batch 4, 2 iterations, ResNet-18, narrow heads '
                        '(CPU tests)')
    p.add_argument('--threads', type=int, default=None, help='torch threads on a CPU')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    if args.device == 'auto':
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        p.error(f'--device {args.device}: CUDA is not available here')
    if args.amp and not args.device.startswith('cuda'):
        p.error("--amp needs a GPU (mmengine's AmpOptimWrapper is CUDA/NPU/MLU only)")
    if args.tiny:
        args.batch_size = args.batch_size or 4
        args.iters, args.warmup = min(args.iters, 2), min(args.warmup, 1)
        args.num_workers = 0 if args.num_workers is None else args.num_workers
    for name in ('iters', 'batch_size', 'num_images', 'threads'):
        v = getattr(args, name)
        if v is not None and v < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1, got {v}')
    if args.warmup < 0 or (args.num_workers is not None and args.num_workers < 0):
        p.error('--warmup and --num-workers must be >= 0')
    return args


# ------------------------------------------------------------------------------ configs + data
def scale_sizes(obj, factor: float):
    """A copy of a pipeline config with its output sizes (crop/resize scales, codec sizes)
    multiplied by ``factor``."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(scale_sizes(o, factor) for o in obj)
    if not isinstance(obj, dict):
        return obj
    out = {k: scale_sizes(v, factor) for k, v in obj.items()}
    if out.get('type') in ('RandomResizedCrop', 'FaceResize') and isinstance(
            out.get('scale'), int):
        out['scale'] = max(8, round(out['scale'] * factor))
    if out.get('type') == 'FaceRandomCrop':
        out['crop_size'] = max(8, round(out['crop_size'] * factor))
    if 'input_size' in out and 'heatmap_size' in out:  # a heatmap codec
        out['input_size'] = tuple(max(8, round(s * factor)) for s in out['input_size'])
        out['heatmap_size'] = tuple(s // 4 for s in out['input_size'])
    return out


def write_data(kind: str, root: str, num: int, tiny: bool, seed: int) -> dict:
    """Synthetic faces for a dataset kind; returns the dataloader ``dataset`` overrides."""
    from mmfer.datasets import synthetic
    if kind == 'ms1m':  # MS1M crops are 112 px
        synthetic.write_face_folder(root, num=num, image_size=48 if tiny else 112, seed=seed)
        return dict(type='FaceFolderDataset', data_root=root, data_prefix='images',
                    missing_landmarks='drop')
    if kind == 'voxceleb':  # 2 fps frames: TimeAug's 1 s and HardNeg's 3 s fit in 10 s videos
        frames = 20
        videos = max(2, num // frames)
        synthetic.write_voxceleb(root, num_identities=max(2, videos // 2), videos_per_identity=2,
                                 frames_per_video=frames, image_size=48 if tiny else 128,
                                 seed=seed)
        return dict(data_root=root, data_prefix=dict(img_path=''), fps=2)
    if kind == 'affectnet':
        synthetic.write_affectnet(root, num_train=num, num_val=4,
                                  image_size=48 if tiny else 224, seed=seed)
        return dict(data_root=root)
    raise ValueError(f'unknown data kind {kind!r}')


def method_config(name: str, args, data_root: str):
    """The method's config with its model changes, tiny sizes and synthetic data."""
    from mmengine.config import Config
    spec = METHODS[name]
    cfg = Config.fromfile(spec['config'])
    cfg.merge_from_dict(dict(model=copy.deepcopy(spec['model'])))
    if args.tiny:
        cfg.merge_from_dict(dict(model=copy.deepcopy(spec['tiny'])))
    loader = cfg.train_dataloader
    paper_batch = int(loader.batch_size)
    batch = args.batch_size or paper_batch
    num = args.num_images or max(2 * batch, 8 if args.tiny else 256)
    dataset = dict(loader.dataset)
    landmark_file = dataset.get('landmark_file')
    overrides = write_data(spec['data'], data_root, num, args.tiny, args.seed)
    if overrides.get('type') == 'FaceFolderDataset':  # the MS1M RecordIO's place
        dataset = dict(overrides, landmark_file=landmark_file and 'landmarks.npz',
                       pipeline=dataset['pipeline'])
    else:
        dataset.update(overrides)
    if args.tiny:
        dataset['pipeline'] = scale_sizes(dataset['pipeline'], TINY_SIZE / spec['img_size'])
    loader.dataset = dataset
    return cfg, paper_batch, batch


# ----------------------------------------------------------------------------------- running
def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def peak_memory_mb(device: str) -> float:
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def to_device(data, device: str):
    if isinstance(data, torch.Tensor):
        return data.to(device, non_blocking=True)
    if isinstance(data, dict):
        return {k: to_device(v, device) for k, v in data.items()}
    if isinstance(data, list):
        return [to_device(v, device) for v in data]
    if hasattr(data, 'to'):  # DataSample
        return data.to(device)
    return data


def synthetic_batch(batch: dict, device: str, seed: int) -> dict:
    """The batch with its images replaced by random uint8 tensors, on the device."""
    gen = torch.Generator().manual_seed(seed)

    def rand_like(x):
        return torch.randint(0, 256, x.shape, generator=gen, dtype=torch.uint8)

    inputs = batch['inputs']
    inputs = [rand_like(x) for x in inputs] if isinstance(inputs, list) else rand_like(inputs)
    return to_device(dict(batch, inputs=inputs), device)


def channels_last_hook(module, args, output):
    """Forward hook of the data preprocessor: 4-D inputs in channels-last."""
    def cl(x):
        return x.contiguous(memory_format=torch.channels_last) if (
            isinstance(x, torch.Tensor) and x.dim() == 4) else x
    inputs = output['inputs']
    output['inputs'] = [cl(x) for x in inputs] if isinstance(inputs, list) else cl(inputs)
    return output


def build_model(cfg, args):
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper

    from mmfer.registry import MODELS
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model = revert_sync_batchnorm(model).to(args.device)  # one device: BatchNorm
    model.train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        model.data_preprocessor.register_forward_hook(channels_last_hook)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if args.amp:
        optim_cfg['type'] = 'AmpOptimWrapper'
        optim_cfg['dtype'] = args.amp_dtype
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')  # LARS lists every frozen target-network parameter
    try:
        optim_wrapper = build_optim_wrapper(model, optim_cfg)
    finally:
        logger.setLevel(level)
    hub = MessageHub.get_current_instance()  # momentum schedules (CosineEMA) read these
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 10000)
    return model, optim_wrapper


def build_loader(cfg, batch: int, args, infinite: bool = True, max_workers: int = None):
    from mmengine.runner import Runner
    loader = copy.deepcopy(cfg.train_dataloader)
    workers = loader.get('num_workers', 0) if args.num_workers is None else args.num_workers
    workers = min(workers, os.cpu_count() or 1, max_workers or workers)
    loader.update(batch_size=batch, num_workers=workers, persistent_workers=workers > 0,
                  drop_last=True, pin_memory=args.device.startswith('cuda'))
    if infinite:
        loader['sampler'] = dict(type='InfiniteSampler', shuffle=True, seed=args.seed)
    return Runner.build_dataloader(loader, seed=args.seed), workers


def time_steps(step, n: int, device: str):
    """Run ``step()`` ``n`` times; returns (total ms per iteration, data-wait ms per iteration)
    lists (``step`` returns the seconds it waited for data)."""
    total, waits = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        wait = step()
        sync(device)
        total.append(1e3 * (time.perf_counter() - t0))
        waits.append(1e3 * wait)
    return total, waits


def run_method(cfg, batch: int, args) -> list:
    """Rows of (a) and (b) for one method at one batch size."""
    model, optim_wrapper = build_model(cfg, args)
    rows = []
    loader, _ = build_loader(cfg, batch, args, infinite=False, max_workers=1)
    first = next(iter(loader))  # the shapes and metadata of a real batch
    del loader
    n_img = len(first['data_samples'])
    if 'model' in args.modes:
        data = synthetic_batch(first, args.device, args.seed)

        def step_model():
            model.train_step(data, optim_wrapper)
            return 0.0

        time_steps(step_model, args.warmup, args.device)
        if args.device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats(args.device)
        total, _ = time_steps(step_model, args.iters, args.device)
        rows.append(dict(mode='model', ms=total, wait=None,
                         peak_mb=peak_memory_mb(args.device)))
    if 'loader' in args.modes:
        loader, workers = build_loader(cfg, batch, args)
        it = iter(loader)

        def step_loader():
            t0 = time.perf_counter()
            data = next(it)
            wait = time.perf_counter() - t0
            model.train_step(data, optim_wrapper)
            return wait

        # the first batches are prefetched by every worker at once: warm up past them
        time_steps(step_loader, args.warmup + workers, args.device)
        if args.device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats(args.device)
        total, waits = time_steps(step_loader, args.iters, args.device)
        rows.append(dict(mode='loader', ms=total, wait=waits, workers=workers,
                         peak_mb=peak_memory_mb(args.device)))
        del it, loader
    for r in rows:
        r.update(batch=n_img)
    return rows


def is_oom(e: BaseException) -> bool:
    return isinstance(e, torch.cuda.OutOfMemoryError) or 'out of memory' in str(e)


def summarise(rows: list) -> None:
    """Medians, images/s and the dataloader-bound verdict, in place."""
    by_mode = {r['mode']: r for r in rows}
    for r in rows:
        ms = statistics.median(r['ms'])
        r.update(ms_per_iter=round(ms, 2), ms_per_iter_min=round(min(r['ms']), 2),
                 images_per_s=round(1e3 * r['batch'] / ms, 1), peak_mb=round(r['peak_mb'], 1))
        if r['wait'] is not None:
            r['wait_ms_per_iter'] = round(statistics.median(r['wait']), 2)
        del r['ms'], r['wait']
    if 'loader' in by_mode:
        b = by_mode['loader']
        bound = b['wait_ms_per_iter'] > 0.1 * b['ms_per_iter']
        if 'model' in by_mode:
            b['vs_model'] = round(b['ms_per_iter'] / by_mode['model']['ms_per_iter'], 3)
            bound = bound or b['vs_model'] > 1.1
        b['dataloader_bound'] = bool(bound)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.logging import MMLogger

    from mmfer.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    MMLogger.get_instance('mmengine', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith('cuda'):
        dev = torch.cuda.get_device_name(torch.device(args.device))
    else:
        dev = f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)'
    print(f'device: {args.device} = {dev}; amp: {args.amp_dtype if args.amp else "off"}; '
          f'channels_last: {args.channels_last}; {"tiny" if args.tiny else "paper"} sizes; '
          f'{args.iters} timed iterations after {args.warmup} warm-up; load average '
          f'{os.getloadavg()[0]:.2f}', flush=True)

    results = []
    for name in args.methods:
        spec = METHODS[name]
        with tempfile.TemporaryDirectory(prefix=f'bench_gpu_{name}_') as root:
            t0 = time.perf_counter()
            cfg, paper_batch, batch = method_config(name, args, root)
            print(f'\n{spec["label"]}: {osp.relpath(spec["config"], REPO)}, paper batch '
                  f'{paper_batch} per GPU; synthetic data written in '
                  f'{time.perf_counter() - t0:.1f}s', flush=True)
            while True:
                try:
                    rows = run_method(cfg, batch, args)
                    break
                except RuntimeError as e:  # torch.cuda.OutOfMemoryError included
                    if not is_oom(e) or batch == 1:
                        raise
                # out of the except clause: the failed step's tensors are free now
                print(f'  batch {batch}: out of memory, halving', flush=True)
                batch //= 2
                gc.collect()
                torch.cuda.empty_cache()
        summarise(rows)
        label = spec['label'] + (f' [tiny: R18, {TINY_SIZE} px]' if args.tiny else '')
        for r in rows:
            r.update(method=name, label=label, paper_batch=paper_batch)
            bound = '' if 'dataloader_bound' not in r else (
                f', data wait {r["wait_ms_per_iter"]:.1f} ms/iter -> '
                f'{"dataloader-bound" if r["dataloader_bound"] else "not dataloader-bound"}')
            print(f'  ({"a" if r["mode"] == "model" else "b"}) {r["mode"]:6s} batch '
                  f'{r["batch"]}: {r["ms_per_iter"]:.1f} ms/iter (min {r["ms_per_iter_min"]:.1f})'
                  f', {r["images_per_s"]:.1f} images/s, peak {r["peak_mb"]:.0f} MB{bound}',
                  flush=True)
        results.extend(rows)
        gc.collect()
        if args.device.startswith('cuda'):
            torch.cuda.empty_cache()

    mem = 'peak MB' if args.device.startswith('cuda') else 'peak RSS MB'
    print(f'\n| method | mode | batch (paper) | workers | ms/iter | images/s | {mem} | '
          f'data wait ms/iter | dataloader-bound |')
    print('|---|---|---|---|---|---|---|---|---|')
    for r in results:
        print(f'| {r["label"]} | {r["mode"]} | {r["batch"]} ({r["paper_batch"]}) | '
              f'{r.get("workers", "-")} | {r["ms_per_iter"]:.1f} | {r["images_per_s"]:.1f} | '
              f'{r["peak_mb"]:.0f} | {r.get("wait_ms_per_iter", "-")} | '
              f'{ {True: "yes", False: "no"}.get(r.get("dataloader_bound"), "-")} |')
    result = dict(benchmark='gpu', device=args.device, device_name=dev, amp=args.amp,
                  amp_dtype=args.amp_dtype if args.amp else None,
                  channels_last=args.channels_last, tiny=args.tiny, iters=args.iters,
                  rows=results, load_average=round(os.getloadavg()[0], 2))
    print('BENCH_RESULT ' + json.dumps(result), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
