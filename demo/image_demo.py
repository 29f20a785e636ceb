#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Detect the faces of a photo, align them, run a model and draw the result.

Example (a toy model trained on synthetic faces, README "Use a trained model")::

    python -c "from skimage import data; import cv2; \\
        cv2.imwrite('astronaut.png', data.astronaut()[..., ::-1])"
    python demo/image_demo.py astronaut.png \\
        configs/demo/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy.py \\
        work_dirs/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy/iter_600.pth \\
        --out astronaut_pred.png

Writes the picture (boxes, landmarks, top expressions / valence-arousal / active AUs) and a
CSV of every face (``--csv``, columns in README "Use a trained model"); ``--show`` opens a
window when a display exists. A thin CLI over :class:`mmfer.apis.FERInferencer`.
"""
import argparse
import os
import os.path as osp
import sys
import time


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Faces of a photo -> expressions (or VA / AUs / '
                                'embeddings), drawn')
    p.add_argument('img', help='image file')
    p.add_argument('config', help='model config')
    p.add_argument('checkpoint', help='trained checkpoint')
    p.add_argument('--out', default=None,
                   help='output picture (default: <image name>_pred.png next to the image)')
    p.add_argument('--csv', default=None, help='also write one CSV row per face')
    p.add_argument('--detector', default='dlib',
                   help="face detector: 'dlib' (HOG, faces scoring >= 0.5), 'mtcnn', or "
                   "'none' when the image is an aligned face crop")
    p.add_argument('--det-thr', type=float, default=None,
                   help='detector score threshold (default: dlib 0.5, mtcnn 0)')
    p.add_argument('--template', default=None,
                   help='alignment template (default: from the config; e.g. rafdb_100)')
    p.add_argument('--max-faces', type=int, default=None)
    p.add_argument('--topk', type=int, default=3, help='classes / AUs written per face')
    p.add_argument('--device', default=None, help='default: cuda if available')
    p.add_argument('--show', action='store_true', help='show the picture (needs a display)')
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import cv2

    from mmfer.apis import FERInferencer, PredictionCSV, detector_cfg
    from mmfer.utils import register_all_modules
    from mmfer.visualization import has_display
    for path, what in ((args.img, 'image'), (args.config, 'config'),
                       (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path} does not exist')
    out = args.out or osp.splitext(args.img)[0] + '_pred.png'
    register_all_modules(init_default_scope=True)
    tic = time.time()
    inferencer = FERInferencer(args.config, args.checkpoint, device=args.device,
                               detector=detector_cfg(args.detector, args.det_thr),
                               template=args.template, max_faces=args.max_faces)
    loaded = time.time()
    result = inferencer(args.img, return_vis=True, topk=args.topk)
    done = time.time()
    pred, vis = result['predictions'][0], result['visualization'][0]
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    if not cv2.imwrite(out, vis[..., ::-1]):
        raise OSError(f'cannot write {out}')
    if args.csv:
        with PredictionCSV(args.csv, inferencer) as table:
            table.write(pred)
    print(f'{len(pred["faces"])} face(s) in {args.img} ({pred["img_shape"][1]}x'
          f'{pred["img_shape"][0]}); task: {inferencer.task}; model loaded in '
          f'{loaded - tic:.1f} s, image done in {done - loaded:.2f} s')
    for face in pred['faces']:
        box = ', '.join(f'{v:.0f}' for v in face['bbox'])
        print(f'  face {face["face_id"]}: box ({box}), detector score {face["score"]:.2f}: '
              + '; '.join(inferencer.caption(face, args.topk)))
    if args.show:
        if has_display():
            cv2.imshow('mmfer', vis[..., ::-1])
            cv2.waitKey(0)
            cv2.destroyAllWindows()
        else:
            print('--show: no display here (DISPLAY is not set); see the file instead')
    print(f'picture: {out}' + (f'\nCSV: {args.csv}' if args.csv else ''), flush=True)
    return result


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, KeyError, OSError, ImportError) as e:
        if os.environ.get('MMFER_DEBUG'):
            raise
        sys.exit(f'demo/image_demo.py: error: {e}')
