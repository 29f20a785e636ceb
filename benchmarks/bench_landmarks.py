#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Batched landmark extraction against mmpose's own paths and the bare network (same run).

All paths use the same mmpose model (default: the 300W HRNetV2-W18 config shipped with
mmpose; random weights when no checkpoint is given: the same speed) on the same image files
(synthetic 112 px aligned faces, whole-image face boxes), ``--num-images`` images each:

- ``mmfer``: :class:`mmfer.apis.FaceLandmarkInferencer` (what
  ``tools/landmarks/extract_landmarks.py`` runs): decode + pipeline in ``--num-workers``
  DataLoader workers, ``--batch-size`` faces per forward, Conv+BN fused, channels-last;
- ``mmpose Pose2DInferencer``: mmpose 1.1's inferencer (``batch_size=--batch-size``; mmpose
  1.1 still runs one image per forward: its ``preprocess`` yields one image at a time);
- ``mmpose batched test_step``: mmpose's batched path (its test pipeline, ``pseudo_collate``
  of ``--batch-size`` images and ``model.test_step``, as its test loop and
  ``inference_topdown`` with many boxes do);
- the limit, ``bare forward``: backbone -> neck -> head of the same network on the same
  batches, already decoded, warped and normalised (+ the flipped forward when the flip test is
  on), in two variants: as built (NCHW, BN) and as mmfer runs it (fused, channels-last); the
  faster one is the limit.

Each path runs ``--repeats`` times, interleaved (order rotated); the table gives the min and
median ms/image, and the ratios are paired per repeat. Then the options, once each: mmfer
without fusing, without channels-last, without the flip test, in bfloat16 (and their
landmark difference from the fp32 default), and the bare forward in bfloat16. The landmark
difference between mmfer and mmpose must be <= 0.5 px (fp32; exit code 1 otherwise). With
random weights the heatmaps are nearly flat, so a bfloat16 or no-flip difference says
nothing about a trained model: pass ``--checkpoint`` for that. The last line is
``BENCH_RESULT {json}``; timings are never asserted.

Examples::

    python benchmarks/bench_landmarks.py --checkpoint hrnetv2_w18_300w_256x256-eea53406_20211019.pth
    python benchmarks/bench_landmarks.py --random-weights-for-testing --num-images 32 \\
        --batch-size 16 --repeats 3
"""
import argparse
import contextlib
import json
import os
import os.path as osp
import sys
import tempfile
import time

import numpy as np
import torch

from mmfer.apis import (MMPOSE_300W_CONFIG, FaceLandmarkInferencer, WholeImageBox,
                        keep_default_scope, list_face_images)

GOAL_VS_LIMIT = 1.15


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', help='folder of face crops (default: synthetic 112 px faces)')
    p.add_argument('--num-images', type=int, default=32, help='images per path and repeat')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--num-workers', type=int, default=1, help="mmfer's DataLoader workers")
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--flip-test', choices=['config', 'on', 'off'], default='config',
                   help='the flip test of every path (default: as the config says, on for '
                        "mmpose's 300W HRNet)")
    p.add_argument('--no-options', action='store_true',
                   help='skip the option variants (fusing, channels-last, flip, bf16)')
    p.add_argument('--no-pose2d-inferencer', action='store_true',
                   help="skip mmpose's Pose2DInferencer (one image per forward: slow)")
    p.add_argument('--config', default=None, help='mmpose config (default: 300W HRNetV2-W18)')
    p.add_argument('--checkpoint', default=None)
    p.add_argument('--random-weights-for-testing', action='store_true')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=1, help='torch threads (every path)')
    p.add_argument('--tiny', action='store_true',
                   help='the config at a 64 px input (16 px heatmaps): CI-sized, same code')
    args = p.parse_args(argv)
    for name in ('num_images', 'batch_size', 'repeats', 'threads'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def tiny_config(config: str, folder: str) -> str:
    """``config`` with a 64x64 input and 16x16 heatmaps (written to ``folder``)."""
    path = osp.join(folder, 'tiny_' + osp.basename(config))
    with open(path, 'w') as f:
        f.write(f"_base_ = [{config!r}]\n"
                "codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), "
                "sigma=1.5)\n"
                "model = dict(head=dict(decoder=codec))\n"
                "test_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImage'), "
                "dict(type='GetBBoxCenterScale'), dict(type='TopdownAffine', "
                "input_size=(64, 64)), dict(type='PackPoseInputs')]))\n")
    return path


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def batches(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Paths:
    """The timed paths, each ``(name, fn) -> (seconds, {key: (68, 2) landmarks})``."""

    def __init__(self, args, paths, keys, inferencer):
        from mmengine.dataset import Compose, pseudo_collate
        from mmengine.registry import DefaultScope
        self.args, self.paths, self.keys = args, paths, keys
        self.inferencer = inferencer
        self.predictor = inferencer.model  # TopdownBatchPredictor
        self.model = self.predictor.source_model
        self.flip = self.predictor.flip_test
        self.model.test_cfg = dict(self.model.test_cfg, flip_test=self.flip)
        with DefaultScope.overwrite_default_scope('mmpose'):
            self.pipeline = Compose(self.model.cfg.test_dataloader.dataset.pipeline)
        self.collate = pseudo_collate
        # the bare forward's inputs: every batch decoded, warped and normalised once
        self.tensors = []
        for chunk in batches(list(zip(paths, keys)), args.batch_size):
            data = [self.predictor.prepare(self._read(p), self._box(p)) for p, _ in chunk]
            self.tensors.append(
                self.model.data_preprocessor(pseudo_collate(data), False)['inputs'])
        self.pose2d = None

    @staticmethod
    def _read(path):
        import cv2
        return cv2.imread(path)

    def _box(self, path):
        from PIL import Image
        w, h = Image.open(path).size
        return np.array([0, 0, w, h], np.float32)

    def mmfer(self, inferencer=None):
        inferencer = inferencer or self.inferencer
        out = {}
        t0 = time.perf_counter()
        for batch in inferencer.preprocess(self.paths, self.args.batch_size, keys=self.keys,
                                           num_workers=self.args.num_workers):
            out.update({r['key']: r['keypoints'] for r in inferencer.forward(batch)
                        if r['failure'] is None})
        sync(self.args.device)
        return time.perf_counter() - t0, out

    def mmpose_batched(self):
        out = {}
        t0 = time.perf_counter()
        for chunk in batches(list(zip(self.paths, self.keys)), self.args.batch_size):
            data = []
            for path, _ in chunk:
                info = dict(img_path=path, bbox=self._box(path)[None],
                            bbox_score=np.ones(1, np.float32))
                info.update(self.model.dataset_meta)
                data.append(self.pipeline(info))
            with torch.no_grad():
                results = self.model.test_step(self.collate(data))
            out.update({k: r.pred_instances.keypoints[0] for (_, k), r in zip(chunk, results)})
        sync(self.args.device)
        return time.perf_counter() - t0, out

    def build_pose2d(self):
        from mmpose.apis.inferencers import Pose2DInferencer
        with keep_default_scope(), contextlib.redirect_stdout(sys.stderr):
            inf = Pose2DInferencer(self.args.config or MMPOSE_300W_CONFIG, weights=None,
                                   device=self.args.device, det_model='whole_image')
        inf.model.load_state_dict(self.model.state_dict())  # the same weights
        inf.model.test_cfg = dict(inf.model.test_cfg, flip_test=self.flip)
        self.pose2d = inf

    def mmpose_pose2d(self):
        out = {}
        t0 = time.perf_counter()
        with keep_default_scope():
            for key, res in zip(self.keys, self.pose2d(self.paths,
                                                        batch_size=self.args.batch_size)):
                out[key] = np.asarray(res['predictions'][0][0]['keypoints'], np.float32)
        sync(self.args.device)
        return time.perf_counter() - t0, out

    def bare(self, fused: bool, precision: str = 'fp32', flip=None):
        """The network alone on the prepared batches (+ the flipped forward)."""
        flip = self.flip if flip is None else flip
        model = self.predictor.model if fused else self.model
        dtype = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}[precision]
        ctx = torch.inference_mode() if fused else torch.no_grad()
        t0 = time.perf_counter()
        with ctx, torch.autocast(self.args.device.split(':')[0], dtype=dtype or torch.float32,
                                 enabled=dtype is not None):
            for x in self.tensors:
                if fused:
                    x = x.contiguous(memory_format=torch.channels_last)
                model.head.forward(model.extract_feat(x))
                if flip:
                    model.head.forward(model.extract_feat(x.flip(-1)))
        sync(self.args.device)
        return time.perf_counter() - t0, {}


def max_diff(a: dict, b: dict) -> float:
    common = sorted(set(a) & set(b))
    if not common:
        return float('nan')
    return max(float(np.abs(np.asarray(a[k]) - np.asarray(b[k])).max()) for k in common)


def stats(values) -> dict:
    return dict(min=float(np.min(values)), median=float(np.median(values)))


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    root = args.data_root
    tmp = tempfile.TemporaryDirectory(prefix='bench_landmarks_')
    if root is None:
        from mmfer.datasets.synthetic import write_face_folder
        info = write_face_folder(tmp.name, num=args.num_images, image_size=112, seed=0)
        root = osp.join(info['root'], 'images')
    paths, keys = list_face_images(root)
    paths, keys = paths[:args.num_images], keys[:args.num_images]
    n = len(paths)
    checkpoint = args.checkpoint if args.checkpoint is not None else 'none'
    config = args.config or MMPOSE_300W_CONFIG
    if args.tiny:
        config = args.config = tiny_config(config, tmp.name)
    flip = {'config': None, 'on': True, 'off': False}[args.flip_test]
    common = dict(box_source=WholeImageBox(), max_outside_fraction=1.0,
                  random_weights_for_testing=args.random_weights_for_testing)
    # all points kept (random weights put many outside the crops): the comparison is exact
    inferencer = FaceLandmarkInferencer(config, checkpoint, args.device, flip_test=flip,
                                        **common)
    bench = Paths(args, paths, keys, inferencer)
    print(f'device: {args.device}, torch threads: {torch.get_num_threads()}, config: '
          f'{osp.basename(config)}, weights: {"random" if checkpoint == "none" else checkpoint}'
          f', flip test: {"on" if bench.flip else "off"}; {n} images, batch '
          f'{args.batch_size}, {args.num_workers} worker(s), {args.repeats} repeats; '
          f'load average {load_start[0]:.2f}', flush=True)

    runs = {
        'mmfer FaceLandmarkInferencer': bench.mmfer,
        'mmpose batched test_step': bench.mmpose_batched,
        'bare forward (as built)': lambda: bench.bare(fused=False),
        'bare forward (fused, channels-last)': lambda: bench.bare(fused=True),
    }
    if not args.no_pose2d_inferencer:
        try:
            bench.build_pose2d()
            runs['mmpose Pose2DInferencer'] = bench.mmpose_pose2d
        except ImportError as e:  # mmpose.apis.inferencers needs pkg_resources
            print(f'mmpose Pose2DInferencer skipped: {e}')
    for fn in runs.values():  # warm-up (lazy initialisations, allocator, oneDNN kernels)
        fn()

    names = list(runs)
    secs = {name: [] for name in names}
    landmarks = {}
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t, out = runs[name]()
            secs[name].append(t / n)
            if out:
                landmarks[name] = out
    bare_names = [k for k in names if k.startswith('bare')]
    limit = np.min([secs[k] for k in bare_names], axis=0)  # the faster bare forward, per repeat
    ours = np.array(secs['mmfer FaceLandmarkInferencer'])
    ratios = {'limit': ours / limit,
              'mmpose batched test_step': ours / np.array(secs['mmpose batched test_step'])}
    if 'mmpose Pose2DInferencer' in secs:
        ratios['mmpose Pose2DInferencer'] = ours / np.array(secs['mmpose Pose2DInferencer'])

    print(f'\n{"path":38s} {"ms/image min":>13s} {"median":>9s} {"images/s (median)":>18s}')
    for name in names:
        st = stats(secs[name])
        print(f'{name:38s} {1e3 * st["min"]:13.1f} {1e3 * st["median"]:9.1f} '
              f'{1 / st["median"]:18.2f}')
    for name, ratio in ratios.items():
        st = stats(ratio)
        goal = f' (goal <= {GOAL_VS_LIMIT})' if name == 'limit' else ' (goal <= 1)'
        print(f'time ratio mmfer / {name}: min {st["min"]:.3f}, median {st["median"]:.3f}'
              f'{goal}')
    ref = landmarks['mmpose batched test_step']
    diff = max_diff(landmarks['mmfer FaceLandmarkInferencer'], ref)
    diffs = {'mmfer vs mmpose batched test_step': diff}
    if 'mmpose Pose2DInferencer' in landmarks:
        diffs['mmpose Pose2DInferencer vs mmpose batched test_step'] = max_diff(
            landmarks['mmpose Pose2DInferencer'], ref)
    for name, d in diffs.items():
        print(f'max landmark difference {name}: {d:.4f} px')
    ok = diff <= 0.5
    print(f'max landmark difference on {n} images: {diff:.4f} px '
          f'({"OK" if ok else "FAIL"}: limit 0.5 px, fp32)')

    # the options, once each (landmark difference from the fp32 default of mmfer)
    options = {}
    if not args.no_options:
        base = landmarks['mmfer FaceLandmarkInferencer']
        variants = [('no Conv+BN fusing', dict(fuse_conv_bn=False)),
                    ('no channels-last', dict(channels_last=False)),
                    ('flip test ' + ('off' if bench.flip else 'on'),
                     dict(flip_test=not bench.flip)),
                    ('bf16 autocast', dict(precision='bf16'))]
        if bench.flip:
            variants.append(('bf16 autocast, flip test off',
                             dict(precision='bf16', flip_test=False)))
        print(f'\n{"mmfer option":34s} {"ms/image":>9s} {"vs default":>11s} '
              f'{"landmark diff px":>17s}')
        default_ms = 1e3 * float(np.median(ours))
        for name, kw in variants:
            kw = dict(dict(flip_test=flip), **kw)
            try:
                with contextlib.redirect_stderr(open(os.devnull, 'w')):
                    inf = FaceLandmarkInferencer(config, checkpoint, args.device, **common, **kw)
                bench.mmfer(inf)  # warm-up
                t, out = bench.mmfer(inf)
            except (RuntimeError, ValueError) as e:  # e.g. no bfloat16 on this device
                print(f'{name:34s} unavailable: {e}')
                continue
            ms = 1e3 * t / n
            d = max_diff(out, base)
            options[name] = dict(ms_per_image=round(ms, 2), landmark_diff_px=round(d, 4))
            print(f'{name:34s} {ms:9.1f} {ms / default_ms:10.2f}x {d:17.4f}')
        for name, kw in [('bare forward bf16 (fused, channels-last)', dict(precision='bf16'))]:
            try:
                bench.bare(fused=True, **kw)
                t, _ = bench.bare(fused=True, **kw)
            except RuntimeError as e:
                print(f'{name:34s} unavailable: {e}')
                continue
            options[name] = dict(ms_per_image=round(1e3 * t / n, 2))
            print(f'{name:34s} {1e3 * t / n:9.1f} {1e3 * t / n / default_ms:10.2f}x')

    load_end = os.getloadavg()
    print(f'load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end')
    result = dict(
        benchmark='landmarks', device=args.device, threads=torch.get_num_threads(),
        weights='random' if checkpoint == 'none' else osp.basename(checkpoint),
        flip_test=bench.flip, tiny=args.tiny, num_images=n, batch_size=args.batch_size,
        num_workers=args.num_workers, repeats=args.repeats,
        ms_per_image={k: {s: round(1e3 * v, 3) for s, v in stats(t).items()}
                      for k, t in secs.items()},
        ratio={k: {s: round(v, 4) for s, v in stats(r).items()} for k, r in ratios.items()},
        goal_vs_limit=GOAL_VS_LIMIT, max_diff_px=round(diff, 5),
        diffs_px={k: round(v, 5) for k, v in diffs.items()}, options=options,
        load_average=[round(load_start[0], 2), round(load_end[0], 2)])
    tmp.cleanup()
    print('BENCH_RESULT ' + json.dumps(result), flush=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
