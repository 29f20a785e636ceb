# Copyright (c) mmfer contributors. All rights reserved.
"""Save a PNG grid of synthetic faces: rows = expressions, columns = identities, with landmarks.

Example::

    python tools/misc/show_synthetic_faces.py --out work_dirs/synthetic_grid.png --num 48
"""
import argparse
import math
import os
import os.path as osp
import sys

import cv2
import numpy as np

# landmark groups (iBUG 300-W) and their BGR colours
GROUPS = ((range(0, 17), (0, 255, 255)), (range(17, 27), (255, 128, 0)),
          (range(27, 36), (0, 200, 0)), (range(36, 48), (255, 0, 255)),
          (range(48, 68), (0, 0, 255)))


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


def draw_landmarks(img: np.ndarray, kpts: np.ndarray, zoom: int) -> None:
    for idx, colour in GROUPS:
        for x, y in kpts[list(idx)]:
            cv2.circle(img, (int(round(x * zoom * 16)), int(round(y * zoom * 16))),
                       max(16, zoom * 12), colour, -1, cv2.LINE_AA, 4)


def make_grid(num: int, seed: int, image_size: int, zoom: int, landmarks: bool) -> np.ndarray:
    from mmfer.datasets.synthetic import EXPRESSION_CLASSES, SyntheticFaceGenerator
    gen = SyntheticFaceGenerator(image_size, seed=seed)
    cols = max(1, math.ceil(num / len(EXPRESSION_CLASSES)))
    side = image_size * zoom
    label_w = 110
    grid = np.full((len(EXPRESSION_CLASSES) * side, label_w + cols * side, 3), 255, np.uint8)
    for r, expression in enumerate(EXPRESSION_CLASSES):
        cv2.putText(grid, expression, (4, r * side + side // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 1, cv2.LINE_AA)
        for c in range(cols):
            face = gen.render(identity=c, expression=expression, intensity=1.0,
                              seed=seed * 1000 + r * cols + c)
            img = cv2.resize(face['img'], (side, side), interpolation=cv2.INTER_CUBIC)
            if landmarks:
                draw_landmarks(img, face['keypoints'], zoom)
            grid[r * side:(r + 1) * side, label_w + c * side:label_w + (c + 1) * side] = img
    return grid


def main(argv=None) -> int:
    args = parse_args(argv)
    grid = make_grid(args.num, args.seed, args.image_size, args.zoom, not args.no_landmarks)
    if osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    if not cv2.imwrite(args.out, grid):
        raise IOError(f'could not write {args.out}')
    print(f'saved {grid.shape[1]}x{grid.shape[0]} grid to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
