# Copyright (c) mmfer contributors. All rights reserved.
"""Draw the pre-training views of a config's training pipeline (like ContraWarping's Fig. 4).

Rows are samples; columns are the original face and the packed views:

- ContraWarping configs (``PackContraWarpInputs``): original / x1 / x2 / x3, with landmarks
  (moved ones in red, unmoved in green, weight 0 not drawn) on the original, x1 and x3, and
  the warp vectors (arrows c → m, circles of radius r) on x3;
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
import sys

import cv2
import numpy as np
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

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
    """Pipeline step that records the decoded face before the view transforms."""

    def __init__(self):
        self.last = None

    def __call__(self, results):
        kpts = results.get('gt_keypoints')
        if kpts is None and results.get('keypoints') is not None and \
                results.get('has_landmarks', True) is not False:
            kpts = np.asarray(results['keypoints'])[0]
        self.last = dict(img=results['img'].copy(),
                         keypoints=None if kpts is None else np.asarray(kpts, np.float32).copy())
        return results


def _to_img(t) -> np.ndarray:
    arr = t.detach().cpu().numpy() if hasattr(t, 'detach') else np.asarray(t)
    if arr.ndim == 3 and arr.shape[0] in (1, 3):
        arr = arr.transpose(1, 2, 0)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2 or arr.shape[2] == 1:
        arr = cv2.cvtColor(arr.reshape(arr.shape[:2]), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(arr)


def _cell(img: np.ndarray, size: int, title: str, kpts=None, weights=None, warps=None,
          color=None):
    """Resize ``img`` into a ``size`` square (keeping aspect) and draw on it."""
    h, w = img.shape[:2]
    s = size / max(h, w)
    canvas = np.full((size + 22, size, 3), 255, np.uint8)
    resized = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))),
                         interpolation=cv2.INTER_LINEAR)
    canvas[22:22 + resized.shape[0], :resized.shape[1]] = resized
    body = canvas[22:]

    def px(p):
        return (int(round((p[0] + 0.5) * s - 0.5)), int(round((p[1] + 0.5) * s - 0.5)))

    if warps:
        for c, m, r in warps:
            cv2.circle(body, px(c), int(round(r * s)), (255, 200, 0), 1, cv2.LINE_AA)
            cv2.arrowedLine(body, px(c), px(m), (255, 255, 0), 2, cv2.LINE_AA, tipLength=0.3)
            cv2.circle(body, px(c), 2, (255, 0, 255), -1, cv2.LINE_AA)
    if kpts is not None:
        wmax = float(np.max(weights)) if weights is not None and len(weights) else 1.0
        for i, p in enumerate(kpts):
            wt = 1.0 if weights is None else float(weights[i])
            if wt <= 0:
                continue
            col = color or ((0, 0, 255) if weights is not None and wt >= wmax else (0, 200, 0))
            cv2.circle(body, px(p), 2, col, -1, cv2.LINE_AA)
    cv2.putText(canvas, title, (3, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                cv2.LINE_AA)
    return canvas


def draw_sample(original: dict, packed: dict, cell: int) -> np.ndarray:
    """One row: original + every view of a packed sample."""
    ds = packed['data_samples']
    views = [_to_img(t) for t in packed['inputs']]
    cells = [_cell(original['img'], cell, 'original', original.get('keypoints'), None, None,
                   (0, 200, 255))]
    if 'keypoints' in ds and 'warp_params' in ds.metainfo:  # ContraWarping
        kp = ds.keypoints.numpy()
        kw = ds.keypoint_weights.numpy()
        has = bool(ds.has_landmarks)
        cells.append(_cell(views[0], cell, 'x1' + ('' if has else ' (no landmarks)'),
                           kp[0] if has else None, kw[0]))
        cells.append(_cell(views[1], cell, 'x2'))
        cells.append(_cell(views[2], cell, 'x3 = RW(x1)', kp[1] if has else None, kw[1],
                           ds.metainfo['warp_params']))
    else:
        roles = ds.metainfo.get('view_roles', [f'view{i}' for i in range(len(views))])
        info = ds.metainfo.get('view_info', {})
        for role, img in zip(roles, views):
            title = role
            vi = info.get(role, {})
            if role == 'anchor' and 'frame' in ds:
                title += f' f{int(ds.frame)}'
            if 'time_offset' in vi and vi.get('frame', -1) != -1:
                title += f' d={vi["time_offset"]:+.2f}s'
            if role == 'positive' and 'face_swapped' in ds and bool(ds.face_swapped):
                title += f' swap id{vi.get("swap_identity", "?")}'
            if role == 'hardneg' and 'hardneg_valid' in ds and not bool(ds.hardneg_valid):
                title += ' (none)'
            cells.append(_cell(img, cell, title))
    return np.concatenate(cells, axis=1)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmfer.registry import DATASETS
    from mmfer.utils import register_all_modules

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmfer'))
    if args.dataloader not in cfg:
        raise SystemExit(f'{args.config} has no {args.dataloader}')
    ds_cfg = copy.deepcopy(cfg[args.dataloader]['dataset'])
    dataset = DATASETS.build(ds_cfg)
    transforms = dataset.pipeline.transforms
    names = [type(t).__name__ for t in transforms]
    pos = next((i for i, n in enumerate(names) if n in VIEW_TRIGGERS), None)
    if pos is None:
        raise SystemExit(f'{args.config}: the {args.dataloader} pipeline has none of '
                         f'{VIEW_TRIGGERS} (pipeline: {names})')
    capture = _Capture()
    transforms.insert(pos, capture)

    np.random.seed(args.seed)
    import random
    random.seed(args.seed)
    n = min(args.num, len(dataset))
    if n <= 0:
        raise SystemExit('the dataset is empty')
    idx = np.random.RandomState(args.seed).choice(len(dataset), n, replace=False)
    rows = []
    try:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(n)
    except Exception:  # noqa: BLE001
        bar = None
    for i in idx:
        packed = dataset[int(i)]
        rows.append(draw_sample(capture.last, packed, args.cell))
        if bar is not None:
            bar.update()
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255)
            for r in rows]
    grid = np.concatenate(rows, axis=0)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, grid):
        raise SystemExit(f'cannot write {args.out}')
    print(f'\nwrote {args.out} ({grid.shape[1]}x{grid.shape[0]}, {n} samples)')


if __name__ == '__main__':
    main()
