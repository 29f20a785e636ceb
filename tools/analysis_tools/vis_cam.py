#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Grad-CAM of an expression classifier on one (aligned) face image.

    python tools/analysis_tools/vis_cam.py IMG CONFIG --checkpoint CKPT --out cam.png \\
        [--method gradcam|gradcam++|xgradcam|eigencam|layercam] [--target-layer backbone.layer4]
        [--target-class K] [--shape 224]

Writes the heat map over the image; prints the class explained and its probability. Needs
``pip install grad-cam``. Align uncropped photos first (tools/dataset_converters/align_faces.py).
"""
import argparse

import cv2

from mmfer.apis.deployment import init_model
from mmfer.visualization.grad_cam import CAM_METHODS, grad_cam


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Grad-CAM of an mmfer classifier')
    p.add_argument('img')
    p.add_argument('config')
    p.add_argument('--checkpoint', help='weights (random initialisation when omitted)')
    p.add_argument('--out', required=True, help='output PNG')
    p.add_argument('--method', choices=CAM_METHODS, default='gradcam')
    p.add_argument('--target-layer', default='backbone.layer4')
    p.add_argument('--target-class', type=int, help='default: the predicted class')
    p.add_argument('--shape', type=int, nargs='+', default=[224], help='input H [W]')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    img = cv2.imread(args.img, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f'cannot read image {args.img}')
    model = init_model(args.config, args.checkpoint)
    res = grad_cam(model, img, args.target_layer, args.target_class, args.method,
                   (args.shape[0], args.shape[-1]))
    if not cv2.imwrite(args.out, res['overlay']):
        raise SystemExit(f'cannot write {args.out}')
    print(f'wrote {args.out}: {args.method} for class {res["target_class"]} '
          f'(p = {res["scores"][res["target_class"]]:.3f})')


if __name__ == '__main__':
    main()
