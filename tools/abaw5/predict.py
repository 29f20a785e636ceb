#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Write ABAW5 expression-track submission files from a trained frame classifier.

Example::

    python tools/abaw5/predict.py configs/abaw5/res50.py work_dirs/res50/best.pth \\
        --split val --out predictions/ --smooth median --window 9

For every video of the split (every annotation file), each listed frame (annotation line)
gets one label: frames with a face image are classified (logits of the config's
``test_pipeline``); a frame without an image carries the previous frame's prediction (the
first predicted frame's for leading frames). Predictions are written twice, raw
(``none``) and, with ``--smooth mean|median``, after a centred moving mean/median of the
logits over ``--window`` frames of each video (the window shrinks at the video's ends):

- ``<out>/<variant>/<video>.txt``: header ``Neutral,Anger,...,Other`` then one label per
  listed frame, in order (the annotation-file format);
- ``<out>/<variant>/submission.txt``: header ``image_location,Neutral,...,Other`` then
  ``<video>/<frame:05d>.jpg,<label>`` for every listed frame, videos in name order;
- ``<out>/logits.npz``: the raw logits (``videos``, ``frames``, ``logits``);
- ``<out>/metrics.json`` and a printed table: macro-F1 over the 8 classes (the challenge
  metric), accuracy and per-class F1 of every variant, on the annotated frames, when the
  split has labels.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

EXPR_HEADER = 'Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='ABAW5 expression submission writer')
    parser.add_argument('config', help='frame classifier config (configs/abaw5/res*.py)')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--split', default='val', choices=['train', 'val'])
    parser.add_argument('--data-root', help='override the dataset data_root')
    parser.add_argument('--out', default='predictions', help='output folder')
    parser.add_argument('--smooth', default='none', choices=['none', 'mean', 'median'],
                        help='temporal smoothing of the logits (raw predictions are '
                        'always written too)')
    parser.add_argument('--window', type=int, default=9,
                        help='smoothing window in frames (odd)')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--device', default=None, help='default: cuda if available')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def smooth_logits(logits: np.ndarray, method: str, window: int) -> np.ndarray:
    """Centred moving mean/median over time, the window truncated at the ends.

    Args:
        logits (np.ndarray): (T, C) logits of consecutive predicted frames.
        method (str): ``'none'``, ``'mean'`` or ``'median'``.
        window (int): Odd window length in frames.

    Returns:
        np.ndarray: (T, C) smoothed logits (float64).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if method == 'none' or window == 1 or len(logits) == 0:
        return logits.copy()
    if window < 1 or window % 2 == 0:
        raise ValueError(f'--window must be a positive odd number, got {window}')
    if method not in ('mean', 'median'):
        raise ValueError(f'unknown smoothing {method!r}')
    half = window // 2
    padded = np.pad(logits, ((half, half), (0, 0)), constant_values=np.nan)
    views = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (T, C, W)
    reduce = np.nanmean if method == 'mean' else np.nanmedian
    return reduce(views, axis=-1)


def fill_labels(num_frames: int, frames: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One label per listed frame, carrying the last prediction over frames without one.

    Args:
        num_frames (int): Listed frames of the video (1..num_frames).
        frames (np.ndarray): (K,) sorted 1-based frames that have a prediction (K >= 1).
        labels (np.ndarray): (K,) their labels.

    Returns:
        np.ndarray: (num_frames,) labels; frames before the first prediction get it.
    """
    out = np.empty(num_frames, dtype=np.int64)
    pos = np.searchsorted(frames, np.arange(1, num_frames + 1), side='right') - 1
    out[:] = labels[np.clip(pos, 0, None)]
    return out


def _write_variant(folder: str, videos: List[str], labels: Dict[str, np.ndarray]) -> None:
    os.makedirs(folder, exist_ok=True)
    lines = ['image_location,' + EXPR_HEADER]
    for video in videos:
        lab = labels[video]
        with open(osp.join(folder, f'{video}.txt'), 'w') as f:
            f.write('\n'.join([EXPR_HEADER] + [str(int(x)) for x in lab]) + '\n')
        lines.extend(f'{video}/{i + 1:05d}.jpg,{int(x)}' for i, x in enumerate(lab))
    with open(osp.join(folder, 'submission.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def build_dataset(cfg, args):
    from mmfer.registry import DATASETS
    ds_cfg = cfg.test_dataloader.dataset.copy()
    if ds_cfg.get('type') not in ('AffWild2Expr', 'mmfer.AffWild2Expr'):
        raise ValueError(f'{args.config}: test_dataloader.dataset.type must be AffWild2Expr, '
                         f'got {ds_cfg.get("type")!r}')
    ds_cfg.update(split=args.split, frame_interval=1, keep_unannotated=True,
                  test_mode=True)
    if args.data_root:
        ds_cfg['data_root'] = args.data_root
    return DATASETS.build(ds_cfg)


def build_model(cfg, checkpoint: str, device: str):
    from mmengine.runner.checkpoint import load_state_dict

    from mmfer.registry import MODELS
    from mmfer.utils import extract_state_dict, load_checkpoint_file
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    state_dict = extract_state_dict(load_checkpoint_file(checkpoint, map_location='cpu'),
                                    checkpoint)
    load_state_dict(model, state_dict, strict=True, logger='current')
    return model.to(device).eval()


@torch.no_grad()
def predict_logits(model, dataset, batch_size: int, num_workers: int) -> np.ndarray:
    """(N, C) logits of every dataset item, in dataset order."""
    from mmengine.dataset import pseudo_collate
    from mmengine.utils import ProgressBar
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                         num_workers=num_workers, collate_fn=pseudo_collate)
    outputs = []
    bar = ProgressBar(len(dataset), file=sys.stderr)
    for data in loader:
        data = model.data_preprocessor(data, False)
        logits = model(data['inputs'], mode='tensor')
        if isinstance(logits, (tuple, list)):
            logits = logits[-1]
        outputs.append(logits.float().cpu().numpy())
        bar.update(logits.shape[0])
    sys.stderr.write('\n')
    logits = np.concatenate(outputs)
    if logits.ndim != 2 or logits.shape[1] != 8:
        raise ValueError(f'the model returned logits of shape {logits.shape}; the expression '
                         'track needs (N, 8)')
    return logits


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.logging import print_log

    import mmfer  # noqa: F401
    from mmfer.evaluation import functional as FM
    from mmfer.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    dataset = build_dataset(cfg, args)
    model = build_model(cfg, args.checkpoint, device)
    logits = predict_logits(model, dataset, args.batch_size, args.num_workers)

    videos = [v['video'] for v in dataset.video_infos]
    frames_all = np.asarray([dataset.get_data_info(i)['frame'] for i in range(len(dataset))])
    video_all = [dataset.get_data_info(i)['video'] for i in range(len(dataset))]
    os.makedirs(args.out, exist_ok=True)
    np.savez(osp.join(args.out, 'logits.npz'), videos=np.asarray(video_all),
             frames=frames_all, logits=logits)

    variants = ['none'] + ([f'{args.smooth}_w{args.window}'] if args.smooth != 'none' else [])
    per_variant: Dict[str, Dict[str, np.ndarray]] = {v: {} for v in variants}
    no_image_videos = []
    for info in dataset.video_infos:
        video, n = info['video'], info['num_frames']
        sl = slice(info['first'], info['first'] + info['num_samples'])
        frames, video_logits = frames_all[sl], logits[sl]
        for variant in variants:
            if len(frames) == 0:
                per_variant[variant][video] = np.zeros(n, dtype=np.int64)
                continue
            method = 'none' if variant == 'none' else args.smooth
            smoothed = smooth_logits(video_logits, method, args.window)
            per_variant[variant][video] = fill_labels(n, frames, smoothed.argmax(1))
        if len(frames) == 0:
            no_image_videos.append(video)
    if no_image_videos:
        print_log(f'{len(no_image_videos)} videos have no face image at all; their frames '
                  f'are written as Neutral (0): {no_image_videos}', logger='current',
                  level=30)

    results = {}
    gts = {v: dataset.frame_labels(v) for v in videos}
    for variant in variants:
        folder = osp.join(args.out, variant)
        _write_variant(folder, videos, per_variant[variant])
        pred = np.concatenate([per_variant[variant][v] for v in videos])
        gt = np.concatenate([gts[v] for v in videos])
        valid = gt >= 0
        entry = dict(folder=folder, num_frames=int(len(pred)), num_annotated=int(valid.sum()))
        if valid.any():
            entry.update(
                macro_f1=100.0 * FM.macro_f1(pred[valid], gt[valid], 8),
                accuracy=100.0 * FM.accuracy(pred[valid], gt[valid]),
                per_class_f1=dict(zip(EXPR_HEADER.split(','),
                                      (100.0 * FM.per_class_f1(pred[valid], gt[valid], 8)
                                       ).tolist())))
        results[variant] = entry
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(results, f, indent=2)
    print(f'{"variant":<16}{"frames":>10}{"annotated":>11}{"macro-F1":>10}{"accuracy":>10}')
    for variant, r in results.items():
        f1 = f'{r["macro_f1"]:.2f}' if 'macro_f1' in r else '-'
        acc = f'{r["accuracy"]:.2f}' if 'accuracy' in r else '-'
        print(f'{variant:<16}{r["num_frames"]:>10}{r["num_annotated"]:>11}{f1:>10}{acc:>10}')
    return results


if __name__ == '__main__':
    main()
