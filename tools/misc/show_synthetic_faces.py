# Copyright (c) mmfer contributors. All rights reserved.
"""Save a PNG grid of synthetic faces: rows = expressions, columns = identities, with landmarks.

Example::

    python tools/misc/show_synthetic_faces.py --out work_dirs/synthetic_grid.png --num 48
"""
import argparse
import os
import os.path as osp
import sys

import cv2


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', required=True, help='output .png')
    p.add_argument('--num', type=int, default=32,
                   help='number of faces; columns = ceil(num / 8 expressions)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--image-size', type=int, default=112)
    p.add_argument('--zoom', type=int, default=2, help='upscale factor of each face')
    p.add_argument('--no-landmarks', action='store_true')
    args = p.parse_args(argv)
    if args.num < 1 or args.zoom < 1:
        p.error('--num and --zoom must be >= 1')
    return args


def main(argv=None) -> int:
    from mmfer.datasets.synthetic.grid import face_grid
    args = parse_args(argv)
    grid = face_grid(args.num, args.seed, args.image_size, args.zoom, not args.no_landmarks)
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    if not cv2.imwrite(args.out, grid):
        raise IOError(f'could not write {args.out}')
    print(f'saved {grid.shape[1]}x{grid.shape[0]} grid to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
