#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Batched landmark extraction vs mmpose's per-image ``inference_topdown`` (same run).

Both paths use the same mmpose model (default: the 300W HRNetV2-W18 config shipped with
mmpose) on the same image files; the per-image path calls ``inference_topdown(model, path)``
once per image, the batched path is :class:`mmfer.apis.FaceLandmarkInferencer` (what
``tools/landmarks/extract_landmarks.py`` runs: ``TopdownBatchPredictor`` fed by a DataLoader,
whole-image face boxes of aligned crops). Prints images/s of both, their ratio, and the
max landmark difference on the images both processed (must be <= 0.5 px; exit code 1
otherwise). Timings are not asserted anywhere.

Examples::

    python benchmarks/bench_landmarks.py --checkpoint hrnetv2_w18_300w_256x256-eea53406_20211019.pth
    python benchmarks/bench_landmarks.py --random-weights-for-testing --num-images 64 \\
        --num-per-image 16 --batch-size 32
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

import numpy as np
import torch

from mmfer.apis import (MMPOSE_300W_CONFIG, FaceLandmarkInferencer, WholeImageBox,
                        import_mmpose_inference, list_face_images)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', help='folder of face crops (default: synthetic 112 px faces)')
    p.add_argument('--num-images', type=int, default=64, help='images for the batched path')
    p.add_argument('--num-per-image', type=int, default=16,
                   help='images for the (slow) per-image path, the first of the same list')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--num-workers', type=int, default=1)
    p.add_argument('--config', default=None, help='mmpose config (default: 300W HRNetV2-W18)')
    p.add_argument('--checkpoint', default=None)
    p.add_argument('--random-weights-for-testing', action='store_true')
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    root = args.data_root
    if root is None:
        from mmfer.datasets.synthetic import write_face_folder
        tmp = tempfile.mkdtemp(prefix='bench_landmarks_')
        info = write_face_folder(tmp, num=args.num_images, image_size=112, seed=0)
        root = osp.join(info['root'], 'images')
    paths, keys = list_face_images(root)
    paths, keys = paths[:args.num_images], keys[:args.num_images]
    n_single = min(args.num_per_image, len(paths))
    checkpoint = args.checkpoint if args.checkpoint is not None else 'none'
    config = args.config or MMPOSE_300W_CONFIG
    # all points kept (random weights put many outside the crops): the comparison is exact
    inferencer = FaceLandmarkInferencer(config, checkpoint, args.device,
                                        box_source=WholeImageBox(), max_outside_fraction=1.0,
                                        random_weights_for_testing=args.random_weights_for_testing)
    model = inferencer.model.source_model
    inference = import_mmpose_inference()

    # warm-up both paths once (lazy initialisations, allocator)
    inference.inference_topdown(model, paths[0])
    inferencer(paths[:1])

    # per-image inference_topdown
    t0 = time.perf_counter()
    single = {}
    for p, k in zip(paths[:n_single], keys):
        out = inference.inference_topdown(model, p)[0].pred_instances
        single[k] = out.keypoints[0]
    t_single = time.perf_counter() - t0

    # batched path of tools/landmarks/extract_landmarks.py
    t0 = time.perf_counter()
    batched = {}
    for batch in inferencer.preprocess(paths, args.batch_size, keys=keys,
                                       num_workers=args.num_workers):
        batched.update({r['key']: r['keypoints'] for r in inferencer.forward(batch)
                        if r['failure'] is None})
    t_batch = time.perf_counter() - t0

    ips_single = n_single / t_single
    ips_batch = len(batched) / t_batch
    diff = max(float(np.abs(batched[r] - single[r]).max()) for r in single)
    print(f'device: {args.device}, torch threads: {torch.get_num_threads()}, '
          f'config: {osp.basename(config)}, '
          f'weights: {"random" if checkpoint == "none" else checkpoint}')
    print(f'per-image inference_topdown: {n_single} images in {t_single:.1f}s = '
          f'{ips_single:.3f} images/s')
    print(f'batched (batch {args.batch_size}, {args.num_workers} workers): {len(batched)} '
          f'images in {t_batch:.1f}s = {ips_batch:.3f} images/s')
    print(f'speed-up: {ips_batch / ips_single:.2f}x')
    print(f'max landmark difference on {len(single)} common images: {diff:.4f} px '
          f'({"OK" if diff <= 0.5 else "FAIL"}: limit 0.5 px)')
    return 0 if diff <= 0.5 else 1


if __name__ == '__main__':
    sys.exit(main())
