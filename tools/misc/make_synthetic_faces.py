# Copyright (c) mmfer contributors. All rights reserved.
"""Write synthetic faces to disk in the on-disk formats of the real FER datasets.

Examples::

    python tools/misc/make_synthetic_faces.py data/synthetic --format all --num 500
    python tools/misc/make_synthetic_faces.py data/rafdb_syn --format rafdb --num 2000 \\
        --image-size 100 --seed 1

``--num`` is the number of images of one format (RAF-DB/AffectNet: 80 % train, 20 % test/
validation; Aff-Wild2/VoxCeleb: rounded up to whole videos). With ``--format all`` each format
goes to ``OUT_ROOT/<format>``. See :mod:`mmfer.datasets.synthetic.writers` for the layouts.
"""
import argparse
import json
import math
import os.path as osp
import sys
import time

FORMATS = ('folder', 'rafdb', 'affectnet', 'fer2013', 'affwild2', 'voxceleb')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out_root', help='output folder')
    p.add_argument('--format', default='folder', choices=FORMATS + ('all', ))
    p.add_argument('--num', type=int, default=200, help='images per format')
    p.add_argument('--image-size', type=int, default=None,
                   help='image side in pixels (default: 100 for rafdb, 112 otherwise; '
                   'fer2013 is always 48)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--num-identities', type=int, default=None,
                   help='people in the still-image formats (default: max(1, num // 10))')
    p.add_argument('--frames-per-video', type=int, default=None,
                   help='frames per video (default: affwild2 splits --num over >= 3 videos of '
                   '<= 60 frames; voxceleb 10)')
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args(argv)
    if args.num < 1:
        p.error(f'--num must be >= 1, got {args.num}')
    if args.image_size is not None and args.image_size < 16:
        p.error(f'--image-size must be >= 16, got {args.image_size}')
    return args


def write_format(fmt: str, root: str, args) -> dict:
    from mmfer.datasets.synthetic import writers as W
    num, seed, prog = args.num, args.seed, not args.no_progress
    ids = args.num_identities or max(1, num // 10)
    size = args.image_size
    if fmt == 'folder':
        return W.write_face_folder(root, num, size or 112, seed, ids, progress=prog)
    if fmt == 'rafdb':
        n_train = max(1, int(round(0.8 * num))) if num > 1 else num
        return W.write_rafdb(root, n_train, num - n_train, size or 100, seed, ids,
                             progress=prog)
    if fmt == 'affectnet':
        n_train = max(1, int(round(0.8 * num))) if num > 1 else num
        return W.write_affectnet(root, n_train, num - n_train, size or 112, seed, ids,
                                 progress=prog)
    if fmt == 'fer2013':
        if size not in (None, 48):
            print(f'fer2013 images are 48x48; ignoring --image-size {size}')
        return W.write_fer2013(root, num, seed, ids, progress=prog)
    if fmt == 'affwild2':
        # at least 3 videos: one validation video and the _left/_right pair
        if args.frames_per_video:
            fpv = args.frames_per_video
            n_vid = max(3, math.ceil(num / fpv))
        else:
            n_vid = max(3, math.ceil(num / 60))
            fpv = math.ceil(num / n_vid)
        return W.write_affwild2(root, n_vid, fpv, size or 112, seed, progress=prog)
    if fmt == 'voxceleb':
        fpv = args.frames_per_video or 10
        n_ids = args.num_identities or max(1, math.ceil(num / (2 * fpv)))
        vids = max(1, math.ceil(num / (n_ids * fpv)))
        return W.write_voxceleb(root, n_ids, vids, fpv, size or 112, seed, progress=prog)
    raise ValueError(f'unknown format {fmt!r}; expected one of {FORMATS}')


def main(argv=None) -> int:
    args = parse_args(argv)
    formats = FORMATS if args.format == 'all' else (args.format, )
    for fmt in formats:
        root = osp.join(args.out_root, fmt) if args.format == 'all' else args.out_root
        t0 = time.perf_counter()
        summary = write_format(fmt, root, args)
        print(f'\n[{fmt}] wrote {root} in {time.perf_counter() - t0:.1f} s')
        print(json.dumps(summary, indent=1, default=str)[:2000])
    return 0


if __name__ == '__main__':
    sys.exit(main())
