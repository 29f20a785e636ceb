#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Write ABAW5 expression-track submission files from a trained frame classifier.

Examples::

    python tools/abaw5/predict.py \\
        configs/abaw5/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2-expr.py \\
        work_dirs/abaw5/best.pth --split val --out predictions/ --smooth median --window 9
    # the test set (no annotation files): the organisers' list of frames to label
    python tools/abaw5/predict.py CONFIG CKPT --split test \\
        --frame-list CVPR_5th_ABAW_EXPR_test_set_sample.txt --out predictions_test/

Train / validation: every video of the split (every annotation file), each listed frame
(annotation line) gets one label. Test (``--split test --frame-list FILE``): the frames of
the list (``<video>/<frame>.jpg`` lines, e.g. the organisers' sample submission file with its
``image_location,...`` header, or ``<video>`` lines for every frame up to the video's last
image), in the list's order; no metrics. Frames with a face image are classified (logits of
the config's ``test_pipeline``, the model loaded as :class:`mmfer.apis.FERInferencer` loads
it); a frame without an image carries the previous frame's prediction (the first predicted
frame's for leading frames). Predictions are written twice, raw (``none``) and, with
``--smooth mean|median``, after a centred moving mean/median of the logits over ``--window``
frames of each video (the window shrinks at the video's ends; smoothing is an mmfer
addition, the ABAW5 paper reports frame-wise predictions):

- ``<out>/<variant>/<video>.txt``: header ``Neutral,Anger,...,Other`` then one label per
  listed frame, in order (the annotation-file format);
- ``<out>/<variant>/submission.txt``: header ``image_location,Neutral,...,Other`` then
  ``<video>/<frame:05d>.jpg,<label>`` for every listed frame (videos in name order, or in
  the frame list's order);
- ``<out>/logits.npz``: the raw logits (``videos``, ``frames``, ``logits``);
- ``<out>/metrics.json`` and a printed table: macro-F1 over the 8 classes (the challenge
  metric), accuracy and per-class F1 of every variant, on the annotated frames (frame
  counts only for the test set).

Arguments, the frame list, the config and the checkpoint file are checked before any
inference.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='ABAW5 expression submission writer')
    parser.add_argument('config', help='frame classifier config (configs/abaw5/abaw5_*.py)')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--split', default='val', choices=['train', 'val', 'test'])
    parser.add_argument('--frame-list',
                        help='with --split test: the frames to label (<video>/<frame>.jpg '
                        'or <video> lines, e.g. the organisers\' sample submission file)')
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


def check_args(args, cfg) -> None:
    """Every argument error before any dataset, model or inference work."""
    from mmfer.evaluation.abaw5 import check_smoothing
    check_smoothing(args.smooth, args.window)
    if args.batch_size < 1:
        raise ValueError(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.num_workers < 0:
        raise ValueError(f'--num-workers must be >= 0, got {args.num_workers}')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    ds_type = cfg.test_dataloader.dataset.get('type')
    if ds_type not in ('AffWild2Expr', 'mmfer.AffWild2Expr'):
        raise ValueError(f'{args.config}: test_dataloader.dataset.type must be AffWild2Expr, '
                         f'got {ds_type!r}')
    if osp.isfile(args.out):
        raise FileExistsError(f'--out {args.out} is a file, not a folder')
    if (args.split == 'test') != (args.frame_list is not None):
        raise ValueError('--split test needs --frame-list (the test set has no annotation '
                         'files to list its frames), and --frame-list needs --split test')


def build_dataset(args, cfg):
    """The frames to classify: ``(dataset, video_infos, videos, gt or None)``."""
    from mmfer.evaluation.abaw5 import list_test_frames, read_frame_list
    from mmfer.registry import DATASETS
    ds_cfg = cfg.test_dataloader.dataset.copy()
    if args.data_root:
        ds_cfg['data_root'] = args.data_root
    if args.split != 'test':
        ds_cfg.update(split=args.split, frame_interval=1, keep_unannotated=True,
                      test_mode=True)
        dataset = DATASETS.build(ds_cfg)
        videos = [v['video'] for v in dataset.video_infos]
        gt = np.concatenate([dataset.frame_labels(v) for v in videos])
        return dataset, dataset.video_infos, videos, gt
    frame_list = read_frame_list(args.frame_list)
    image_root = osp.join(ds_cfg.get('data_root', ''),
                          ds_cfg.get('data_prefix', 'cropped_aligned'))
    infos, samples = list_test_frames(frame_list, image_root,
                                      ds_cfg.get('img_suffix', '.jpg'))
    if not samples:
        raise ValueError(f'none of the {sum(i["num_frames"] for i in infos)} frames of '
                         f'{args.frame_list} has an image under {image_root}')
    dataset = DATASETS.build(dict(
        type='ImageListDataset', img_paths=[s['img_path'] for s in samples],
        extra_fields=dict(video=[s['video'] for s in samples],
                          frame=[s['frame'] for s in samples]),
        pipeline=ds_cfg.pipeline, test_mode=True, serialize_data=False))
    return dataset, infos, [i['video'] for i in infos], None


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    from mmengine.logging import print_log

    from mmfer.apis import load_fer_model
    from mmfer.evaluation.abaw5 import (expr_metrics, predict_frame_logits, read_frame_list,
                                        video_labels, write_expr_submission)
    from mmfer.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_args(args, cfg)
    if args.split == 'test':
        read_frame_list(args.frame_list)  # a bad list fails before any model work
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')

    dataset, infos, videos, gt = build_dataset(args, cfg)
    # the whole trained classifier (every weight found), as FERInferencer loads it
    model = load_fer_model(cfg, args.checkpoint, device, task='expression')
    logits = predict_frame_logits(model, dataset, args.batch_size, args.num_workers)

    frames = np.asarray([dataset.get_data_info(i)['frame'] for i in range(len(dataset))])
    sample_videos = [dataset.get_data_info(i)['video'] for i in range(len(dataset))]
    os.makedirs(args.out, exist_ok=True)
    np.savez(osp.join(args.out, 'logits.npz'), videos=np.asarray(sample_videos),
             frames=frames, logits=logits)

    variants = {'none': ('none', 1)}
    if args.smooth != 'none':
        variants[f'{args.smooth}_w{args.window}'] = (args.smooth, args.window)
    listed = {i['video']: i.get('frames') for i in infos}
    results = {}
    for variant, (method, window) in variants.items():
        labels, no_image = video_labels(infos, frames, logits, method, window)
        if no_image and variant == 'none':
            print_log(f'{len(no_image)} videos have no face image at all; their frames are '
                      f'written as Neutral (0): {no_image}', logger='current', level=30)
        folder = osp.join(args.out, variant)
        submission = write_expr_submission(folder, videos, labels, listed)
        pred = np.concatenate([labels[v] for v in videos])
        results[variant] = dict(folder=folder, submission=submission,
                                **(expr_metrics(pred, gt) if gt is not None else
                                   dict(num_frames=int(len(pred)), num_annotated=0)),
                                num_with_image=int(len(dataset)))
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(results, f, indent=2)
    print(f'{"variant":<16}{"frames":>10}{"annotated":>11}{"macro-F1":>10}{"accuracy":>10}')
    for variant, r in results.items():
        f1 = f'{r["macro_f1"]:.2f}' if 'macro_f1' in r else '-'
        acc = f'{r["accuracy"]:.2f}' if 'accuracy' in r else '-'
        print(f'{variant:<16}{r["num_frames"]:>10}{r["num_annotated"]:>11}{f1:>10}{acc:>10}')
    n_frames = results['none']['num_frames']
    print(f'\nsubmission files ({len(videos)} videos, {n_frames} frames, {len(dataset)} with '
          'a face image):')
    for r in results.values():
        print(f'  {r["submission"]}')
    print(f'logits: {osp.join(args.out, "logits.npz")}\n'
          f'metrics: {osp.join(args.out, "metrics.json")}', flush=True)
    return results


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        sys.exit(f'tools/abaw5/predict.py: error: {e}')
