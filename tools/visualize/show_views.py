# Copyright (c) mmfer contributors. All rights reserved.
"""Draw the pre-training views of a config's training pipeline (like ContraWarping's Fig. 4).

Rows are samples; columns are the original face and the packed views
(:meth:`mmfer.visualization.FaceVisualizer.visualize_views`):

- ContraWarping configs (``PackContraWarpInputs``): original / x1 / x2 / x3, with landmarks
  on the original (orange), x1 and x3 (red = moved by the warp, green = not moved; weight 0
  not drawn) and the warps on x3 (magenta dot = centre c, light-blue circle = radius r, cyan
  arrow c → m); a legend above the grid explains the colours;
- multi-view configs (``PackMultiViewInputs``, e.g. SSL-FER): original / one column per view
  role (anchor, positive, hardneg, ...) titled with Δ, FaceSwap and validity.

Usage::

    python tools/visualize/show_views.py CONFIG --num 8 --out views.png \
        [--seed 0] [--cell 224] [--cfg-options k=v ...]
"""
import argparse
import copy
import os
import os.path as osp
import random

import cv2
import numpy as np
from mmengine.config import Config, DictAction

VIEW_TRIGGERS = ('ContraWarpViews', 'TimeAug', 'HardNeg', 'FaceSwap')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the views of a pre-training pipeline')
    parser.add_argument('config', help='config file')
    parser.add_argument('--num', type=int, default=8, help='number of samples (rows)')
    parser.add_argument('--out', default='views.png', help='output PNG')
    parser.add_argument('--seed', type=int, default=0, help='seed of the augmentations')
    parser.add_argument('--cell', type=int, default=224, help='cell size in pixels')
    parser.add_argument('--dataloader', default='train_dataloader',
                        help='config key of the dataloader whose dataset is drawn')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        help='override config settings, key=value (mmengine DictAction)')
    return parser.parse_args(argv)


class _Capture:
    """Pipeline step recording ``keys`` of the results (the face before the view transforms,
    the warp's moved-landmark mask after them)."""

    def __init__(self):
        self.last = {}

    def __call__(self, results):
        if 'warp_moved' in results:
            self.last['warp_moved'] = np.asarray(results['warp_moved']).copy()
            return results
        kpts = results.get('gt_keypoints')
        if kpts is None and results.get('keypoints') is not None and \
                results.get('has_landmarks', True) is not False:
            kpts = np.asarray(results['keypoints'])[0]
        self.last = dict(img=results['img'].copy(),
                         keypoints=None if kpts is None else np.asarray(kpts, np.float32).copy())
        return results


def main(argv=None):
    args = parse_args(argv)
    from mmengine.registry import init_default_scope

    from mmfer.registry import DATASETS
    from mmfer.utils import register_all_modules
    from mmfer.visualization import FaceVisualizer, stack_rows

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmfer'))
    if args.dataloader not in cfg:
        raise SystemExit(f'{args.config} has no {args.dataloader}')
    dataset = DATASETS.build(copy.deepcopy(cfg[args.dataloader]['dataset']))
    transforms = dataset.pipeline.transforms
    names = [type(t).__name__ for t in transforms]
    pos = next((i for i, n in enumerate(names) if n in VIEW_TRIGGERS), None)
    if pos is None:
        raise SystemExit(f'{args.config}: the {args.dataloader} pipeline has none of '
                         f'{VIEW_TRIGGERS} (pipeline: {names})')
    n = min(args.num, len(dataset))
    if n <= 0:
        raise SystemExit('the dataset is empty')
    capture = _Capture()
    transforms.insert(pos, capture)
    contrawarp = names[pos] == 'ContraWarpViews'
    if contrawarp:
        transforms.insert(pos + 2, capture)  # after ContraWarpViews: its warp_moved mask

    np.random.seed(args.seed)
    random.seed(args.seed)
    idx = np.random.RandomState(args.seed).choice(len(dataset), n, replace=False)
    visualizer = FaceVisualizer(name=f'show_views_{os.getpid()}')
    from mmengine.utils import ProgressBar
    bar = ProgressBar(n)
    rows = []
    for i in idx:
        packed = dataset[int(i)]
        rows.append(visualizer.visualize_views(capture.last, packed, args.cell))
        bar.update()
    grid = stack_rows(rows)
    if contrawarp:
        grid = stack_rows([visualizer.legend(grid.shape[1]), grid], gap=0)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, np.ascontiguousarray(grid[..., ::-1])):
        raise SystemExit(f'cannot write {args.out}')
    print(f'\nwrote {args.out} ({grid.shape[1]}x{grid.shape[0]}, {n} samples)')


if __name__ == '__main__':
    main()
