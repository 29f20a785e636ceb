#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Faces of a video (or a webcam) -> an annotated video and a per-frame CSV.

Examples::

    python demo/video_demo.py clip.mp4 CONFIG CKPT --out clip_pred.mp4 --csv clip_pred.csv \\
        --smooth median --window 9
    python demo/video_demo.py --webcam 0 CONFIG CKPT --show --out webcam.mp4

Every frame is detected, aligned and classified (:meth:`mmfer.apis.FERInferencer.iter_video`);
faces are tracked across frames by box overlap and, with ``--smooth``, each face's logits are
smoothed over ``--window`` of its frames (centred: the output lags ``--window // 2`` frames).
The video gets boxes, landmarks and the top expressions (or valence-arousal / active AUs); the
CSV one row per face and frame (README "Use a trained model"). ``q`` or Ctrl-C stops early;
what was written so far is kept.
"""
import argparse
import os
import os.path as osp
import sys
import time

FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG', '.mkv': 'mp4v', '.mov': 'mp4v'}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Faces of a video or a webcam -> an annotated '
                                'video + a per-frame CSV')
    p.add_argument('inputs', nargs='+', metavar='VIDEO CONFIG CHECKPOINT',
                   help='VIDEO CONFIG CHECKPOINT, or CONFIG CHECKPOINT with --webcam')
    p.add_argument('--webcam', type=int, default=None, metavar='N', help='camera index')
    p.add_argument('--out', default=None, help='annotated video (.mp4 or .avi)')
    p.add_argument('--csv', default=None, help='per-frame CSV (one row per face)')
    p.add_argument('--smooth', default='none', choices=['none', 'mean', 'median'],
                   help='temporal smoothing of each tracked face\'s logits')
    p.add_argument('--window', type=int, default=9, help='smoothing window (odd, frames)')
    p.add_argument('--detector', default='dlib', help="'dlib' (default) or 'mtcnn'")
    p.add_argument('--det-thr', type=float, default=None,
                   help='detector score threshold (default: dlib 0.5, mtcnn 0)')
    p.add_argument('--template', default=None, help='alignment template (default: config)')
    p.add_argument('--max-faces', type=int, default=None)
    p.add_argument('--max-frames', type=int, default=None, help='stop after N frames')
    p.add_argument('--batch-size', type=int, default=8, help='frames per detection batch')
    p.add_argument('--topk', type=int, default=3)
    p.add_argument('--device', default=None, help='default: cuda if available')
    p.add_argument('--show', action='store_true', help='show the frames (needs a display)')
    args = p.parse_args(argv)
    want = 2 if args.webcam is not None else 3
    if len(args.inputs) != want:
        p.error('give VIDEO CONFIG CHECKPOINT, or --webcam N CONFIG CHECKPOINT')
    if args.webcam is None:
        args.video, args.config, args.checkpoint = args.inputs
    else:
        args.video = None
        args.config, args.checkpoint = args.inputs
    if not (args.out or args.csv or args.show):
        p.error('nothing to write: give --out, --csv and/or --show')
    if args.out and osp.splitext(args.out)[1].lower() not in FOURCC:
        p.error(f'--out must end with one of {sorted(FOURCC)}, got {args.out}')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    import cv2

    from mmfer.apis import FERInferencer, PredictionCSV, detector_cfg
    from mmfer.evaluation.abaw5 import check_smoothing
    from mmfer.utils import register_all_modules
    from mmfer.visualization import has_display
    check_smoothing(args.smooth, args.window)
    paths = [(args.config, 'config'), (args.checkpoint, 'checkpoint')]
    if args.video is not None:
        paths.insert(0, (args.video, 'video'))
    for path, what in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path} does not exist')
    show = args.show and has_display()
    if args.show and not show:
        if not (args.out or args.csv):
            raise ValueError('--show: no display here (DISPLAY is not set) and no --out or '
                             '--csv to write')
        print('--show: no display here (DISPLAY is not set); writing files only')
    register_all_modules(init_default_scope=True)
    tic = time.time()
    inferencer = FERInferencer(args.config, args.checkpoint, device=args.device,
                               detector=detector_cfg(args.detector, args.det_thr),
                               template=args.template,
                               batch_size=args.batch_size, max_faces=args.max_faces,
                               smooth=None if args.smooth == 'none' else args.smooth,
                               window=args.window)
    loaded = time.time()
    source = args.video if args.video is not None else args.webcam
    fps = 25.0
    if args.video is not None:
        cap = cv2.VideoCapture(args.video)
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
        cap.release()
    writer = None
    table = PredictionCSV(args.csv, inferencer) if args.csv else None
    frames = faces = 0
    try:
        for index, frame, pred in inferencer.iter_video(source, max_frames=args.max_frames):
            frames += 1
            faces += len(pred['faces'])
            if table is not None:
                table.write(pred, index)
            if not (args.out or show):
                continue
            vis = inferencer.draw(frame[..., ::-1], pred, args.topk)[..., ::-1]
            if args.out:
                if writer is None:
                    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
                    fourcc = cv2.VideoWriter_fourcc(*FOURCC[osp.splitext(args.out)[1].lower()])
                    writer = cv2.VideoWriter(args.out, fourcc, fps,
                                             (vis.shape[1], vis.shape[0]))
                    if not writer.isOpened():
                        raise OSError(f'OpenCV cannot write {args.out}')
                writer.write(vis)
            if show:
                cv2.imshow('mmfer', vis)
                if cv2.waitKey(1) & 0xFF == ord('q'):
                    break
    except KeyboardInterrupt:
        print('interrupted: keeping the frames done so far')
    finally:
        if writer is not None:
            writer.release()
        if table is not None:
            table.close()
        if show:
            cv2.destroyAllWindows()
    done = time.time()
    per_frame = (done - loaded) / max(frames, 1)
    print(f'{frames} frames, {faces} faces; task: {inferencer.task}; smoothing: '
          f'{args.smooth}{"" if args.smooth == "none" else f" (window {args.window})"}; '
          f'model loaded in {loaded - tic:.1f} s, {per_frame:.3f} s per frame')
    if args.out:
        print(f'video: {args.out}')
    if args.csv:
        print(f'CSV: {args.csv} ({table.num_rows} rows)', flush=True)
    return dict(frames=frames, faces=faces, seconds_per_frame=per_frame)


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, KeyError, OSError, ImportError) as e:
        if os.environ.get('MMFER_DEBUG'):
            raise
        sys.exit(f'demo/video_demo.py: error: {e}')
