#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Detect and align the faces of an image tree (or of a video tree, at 25 fps) in bulk.

Images::

    python tools/dataset_converters/align_faces.py IN_ROOT OUT_ROOT --template arcface_112

mirrors ``IN_ROOT/a/b.jpg`` into the aligned crop ``OUT_ROOT/a/b.jpg`` and writes
``OUT_ROOT/faces.csv`` (source, crop, score, box, 5 points) and ``OUT_ROOT/failures.csv``
(images without a crop and why). A re-run resumes: images with a row in ``faces.csv`` and a
crop are skipped, failures are retried.

Videos (e.g. VoxCeleb for SSL-FER)::

    python tools/dataset_converters/align_faces.py vox1/videos data/vox1_aligned --videos \\
        --fps 25 --select largest

first writes every video's frames at ``--fps`` to ``--frames-root`` (default
``OUT_ROOT_frames``; ``vox1/videos/id10001/x/00001.mp4`` ->
``.../id10001/x/00001/00001.jpg``), then aligns them.

Detectors (``--detector``): ``dlib`` (HOG + 68-point landmarks; ``pip install -e .[dlib]``),
``mtcnn`` (``pip install --no-deps facenet-pytorch==2.6.0 requests``); backend options with
``--detector-cfg``, e.g. ``--detector-cfg model=cnn upsample=0 score_thr=0.5``.
Templates (``--template``): ``arcface_112`` (MS1M), ``affwild2_112``, ``rafdb_100``,
``emoco_256`` (see :mod:`mmfer.datasets.transforms.align_face`).
"""
import argparse
import json

from mmengine.config import DictAction

from mmfer.apis.face_detection import align_folder, extract_frames_tree
from mmfer.datasets.transforms.align_face import FACE_TEMPLATES


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Detect + align faces of an image / video tree')
    p.add_argument('in_root', help='image tree (or video tree with --videos)')
    p.add_argument('out_root', help='aligned crops + faces.csv + failures.csv')
    p.add_argument('--detector', default='dlib', help='dlib (default) or mtcnn')
    p.add_argument('--detector-cfg', nargs='+', action=DictAction, default={},
                   help='detector arguments, e.g. model=cnn upsample=0 score_thr=0.5')
    p.add_argument('--template', default='arcface_112', choices=sorted(FACE_TEMPLATES))
    p.add_argument('--size', type=int, help='scale the template to this crop size')
    p.add_argument('--select', default='score', choices=['score', 'largest', 'all'],
                   help='which face of an image: best score, largest box, or all')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--workers', type=int, default=2, help='image decode/write threads')
    p.add_argument('--ext', help='output extension (default: the input\'s), e.g. .png')
    p.add_argument('--videos', action='store_true',
                   help='in_root holds videos: extract frames at --fps, then align them')
    p.add_argument('--fps', type=float, default=25.0)
    p.add_argument('--frames-root', help='where --videos writes frames (default '
                   'OUT_ROOT_frames)')
    p.add_argument('--no-resume', action='store_true', help='redo images already aligned')
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    src = args.in_root
    if args.videos:
        src = args.frames_root or args.out_root.rstrip('/') + '_frames'
        counts = extract_frames_tree(args.in_root, src, fps=args.fps,
                                     progress=not args.no_progress)
        print(f'{len(counts)} videos -> {sum(counts.values())} frames at {args.fps} fps '
              f'in {src}')
    stats = align_folder(src, args.out_root,
                         detector=dict(type=args.detector, **args.detector_cfg),
                         template=args.template, output_size=args.size, select=args.select,
                         batch_size=args.batch_size, num_workers=args.workers,
                         resume=not args.no_resume, ext=args.ext,
                         progress=not args.no_progress)
    print(json.dumps(stats))


if __name__ == '__main__':
    main()
