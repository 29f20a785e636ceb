#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Pseudo-landmarks (68 points, iBUG 300-W order) for a folder of faces: a CLI over
:class:`mmfer.apis.FaceLandmarkInferencer`.

Default backend: batched top-down inference with mmpose's 300W HRNetV2-W18 model. Its
checkpoint comes from the OpenMMLab model zoo (the config's metafile ``hrnetv2_300w.yml``)::

    wget https://download.openmmlab.com/mmpose/face/hrnetv2/hrnetv2_w18_300w_256x256-eea53406_20211019.pth

Examples::

    # aligned face crops: the whole image is the face box
    python tools/landmarks/extract_landmarks.py data/faces --aligned \\
        --out data/faces/landmarks.npz --batch-size 64 --device cuda:0 \\
        --checkpoint hrnetv2_w18_300w_256x256-eea53406_20211019.pth
    # MS1M as InsightFace RecordIO (aligned 112x112 crops): keys 'train.rec#<record>'
    python tools/landmarks/extract_landmarks.py data/faces_emore/train.rec --aligned \\
        --out data/faces_emore/landmarks.npz --checkpoint CKPT --device cuda:0
    # uncropped photos: one face box per image
    python tools/landmarks/extract_landmarks.py data/photos --bbox-file boxes.txt --out lm.npz \\
        --checkpoint CKPT
    python tools/landmarks/extract_landmarks.py DATA_ROOT --aligned --out lm.npz \\
        --checkpoint CKPT --resume
    torchrun --nproc_per_node=8 tools/landmarks/extract_landmarks.py DATA_ROOT --aligned \\
        --out lm.npz --checkpoint CKPT --device cuda --launcher pytorch   # one shard per process
    python tools/landmarks/extract_landmarks.py DATA_ROOT --aligned --out lm.npz --backend dlib

DATA_ROOT is a folder (searched recursively; keys are paths relative to it) or an InsightFace
``.rec`` file (with its ``.idx``; keys ``<rec name>#<record key>``, as ``MS1MRecordIO`` uses).
Face boxes: ``--bbox-file`` (``relpath x1 y1 x2 y2`` lines) and/or ``--aligned`` (the images
are aligned face crops, so the whole image is the face box; with both, the file's boxes come
first). One of them is required: the whole image of an uncropped photo gives landmarks far
from the face.

Never silently wrong: images without a face box, smaller than ``--min-face-size``, with a box
that (nearly) misses the image, or with more than ``--max-outside-fraction`` of their landmarks
outside the image are not written (counted, listed, exit code 2); single landmarks outside the
image get score 0 (a dataset ignores them with ``min_landmark_score > 0``).

The output is the shared landmark file (:mod:`mmfer.datasets.landmark_io`: image paths relative
to DATA_ROOT, keypoints (N, 68, 2) in image pixels, keypoint_scores (N, 68)), written
atomically. Progress is saved every ``--save-interval`` batches to ``<out>.part<rank>.npz``;
``--resume`` skips every image already in ``--out`` or in those part files.

``--backend dlib`` uses dlib's 68-point shape predictor (pip packages ``dlib-bin`` and
``face-recognition-models``, which ships ``shape_predictor_68_face_landmarks.dat``) on the
same boxes; it is CPU-only, cheaper and less accurate than HRNetV2, scores are 1.0 (0 for
points outside the image).
"""
import argparse
import os
import sys
import time
from collections import Counter
from typing import Tuple

from mmfer.apis import (HRNET_300W_CHECKPOINT, MMPOSE_300W_CONFIG, FaceLandmarkInferencer,
                        LandmarkFileWriter, build_box_source, list_face_images)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Extract 68 face landmarks for a folder of faces')
    p.add_argument('data_root', help='folder of face images (searched recursively) or an '
                   'InsightFace .rec file')
    p.add_argument('--out', required=True, help='output landmark .npz')
    p.add_argument('--list', help='optional image list (MS1M-style lines), relative paths')
    p.add_argument('--bbox-file', help='"relpath x1 y1 x2 y2" face boxes')
    p.add_argument('--aligned', action='store_true',
                   help='the images are aligned face crops: the whole image is the face box '
                   '(where --bbox-file has none)')
    p.add_argument('--backend', choices=['mmpose', 'dlib'], default='mmpose')
    p.add_argument('--config', default=MMPOSE_300W_CONFIG,
                   help='mmpose top-down config (default: the 300W HRNetV2-W18 shipped with '
                   'mmpose)')
    p.add_argument('--checkpoint', help=f'local path or URL (model zoo: {HRNET_300W_CHECKPOINT})'
                   '; "none" only with --random-weights-for-testing')
    p.add_argument('--random-weights-for-testing', action='store_true',
                   help='allow --checkpoint none (random weights, meaningless landmarks)')
    p.add_argument('--min-face-size', type=int, default=8,
                   help='minimum image side and face-box side inside the image, in pixels')
    p.add_argument('--max-outside-fraction', type=float, default=0.5,
                   help='an image with more landmarks than this fraction outside the image '
                   'is not written (a wrong face box); single outside landmarks get score 0')
    p.add_argument('--flip-test', choices=['config', 'on', 'off'], default='config',
                   help="mmpose's flip test (twice the network cost; the ContraWarping paper "
                   'does not say whether it used one): as the mmpose config says (on for the '
                   '300W HRNet), on or off')
    p.add_argument('--precision', choices=['fp32', 'bf16', 'fp16'], default='fp32',
                   help='network precision (autocast; fp16 needs a GPU). See the README '
                   '"Benchmarks" section for the landmark difference to fp32')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--num-workers', type=int, default=2)
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--resume', action='store_true',
                   help='skip images already in --out or in its part files')
    p.add_argument('--save-interval', type=int, default=20,
                   help='save progress every N batches')
    p.add_argument('--max-images', type=int, default=None,
                   help='stop after this many new images (this process)')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help='pytorch: one shard per torchrun process')
    return p.parse_args(argv)


def _dist_setup(args) -> Tuple[int, int, str]:
    device = args.device
    if args.launcher == 'none':
        return 0, 1, device
    from mmengine.dist import get_dist_info, init_dist
    if device.startswith('cuda'):
        init_dist('pytorch', backend='nccl')
    else:  # mmengine's init_dist calls torch.cuda.set_device: plain gloo group on CPU
        import torch.distributed as torch_dist
        torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']))
    rank, world = get_dist_info()
    if device.startswith('cuda'):
        device = f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    return rank, world, device


def _barrier(world: int) -> None:
    if world > 1:
        from mmengine.dist import barrier
        barrier()


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.batch_size < 1:
        raise ValueError('--batch-size must be >= 1')
    box_source = build_box_source(args.bbox_file, args.aligned)  # before any model work
    inputs, keys = list_face_images(args.data_root, args.list)
    if not keys:
        raise ValueError(f'no images found in {args.list or args.data_root}')
    rank, world, device = _dist_setup(args)
    writer = LandmarkFileWriter(args.out, rank=rank, resume=args.resume)
    done = writer.done() if args.resume else {}
    todo = [i for i, k in enumerate(keys) if k not in done]
    shard = todo[rank::world][:args.max_images]
    if rank == 0:
        print(f'{len(keys)} images, {len(keys) - len(todo)} already done, '
              f'{len(todo)} to do on {world} process(es)', flush=True)

    inferencer = FaceLandmarkInferencer(
        args.config, args.checkpoint, device=device, backend=args.backend,
        box_source=box_source, min_face_size=args.min_face_size,
        max_outside_fraction=args.max_outside_fraction,
        flip_test={'config': None, 'on': True, 'off': False}[args.flip_test],
        precision=args.precision, random_weights_for_testing=args.random_weights_for_testing)
    if rank == 0 and args.backend == 'mmpose':
        print(f'mmpose HRNet: flip test {"on" if inferencer.model.flip_test else "off"}, '
              f'{args.precision}', flush=True)
    from tqdm import tqdm
    bar = tqdm(total=len(shard), desc=f'landmarks[{rank}]', disable=rank != 0 and world > 1,
               file=sys.stdout, mininterval=1.0)
    failures, outside = Counter(), Counter()
    messages = []
    t0 = time.time()
    batches = inferencer.preprocess([inputs[i] for i in shard], args.batch_size,
                                    keys=[keys[i] for i in shard],
                                    num_workers=args.num_workers)
    for b, batch in enumerate(batches):
        for r in inferencer.forward(batch):
            if r['failure'] is not None:
                failures[r['failure']] += 1
                messages.append(r['message'])
                continue
            writer.add(r['key'], r['keypoints'], r['keypoint_scores'])
            if r['num_outside']:
                outside['images'] += 1
                outside['landmarks'] += r['num_outside']
        bar.update(len(batch))
        if (b + 1) % args.save_interval == 0:
            writer.flush()
    bar.close()
    writer.flush()
    elapsed = time.time() - t0
    n_ok = len(shard) - sum(failures.values())
    print(f'[rank {rank}] {n_ok} images in {elapsed:.1f}s ({n_ok / max(elapsed, 1e-9):.2f} '
          f'images/s), {failures["unreadable image"]} unreadable, '
          f'{sum(failures.values()) - failures["unreadable image"]} without usable landmarks',
          flush=True)
    if outside:
        print(f'[rank {rank}] {outside["landmarks"]} landmarks of {outside["images"]} images '
              'lie outside the image: written with score 0', flush=True)
    if failures:
        reasons = ', '.join(f'{n} {why}' for why, n in sorted(failures.items()))
        print(f'[rank {rank}] not written: {reasons}', file=sys.stderr, flush=True)
        for msg in messages[:20]:
            print(f'[rank {rank}] {msg}', file=sys.stderr)

    _barrier(world)
    if rank == 0:
        table = writer.merge(order=keys)
        missing = len([k for k in keys if k not in table])
        print(f'wrote {args.out}: {len(table)} images with landmarks'
              + (f', {missing} without (failed, unreadable or not processed yet)'
                 if missing else ''), flush=True)
    _barrier(world)
    return 0 if not failures else 2


if __name__ == '__main__':
    sys.exit(main())
