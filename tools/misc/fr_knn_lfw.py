#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""FR-KNN (SSL-FER's face-recognition probe): identity k-NN on LFW with frozen features.

A representation that ignores identity (what SSL-FER aims at) scores *low* here.

LFW layout (the official ``lfw`` / ``lfw-deepfunneled`` tarballs, or scikit-learn's
``lfw_home/lfw_funneled``)::

    <lfw-root>/<Person_Name>/<Person_Name>_0001.jpg      (250 x 250)
    [<pairs.txt>]   optional: "10 300" header, then "name i j" / "name1 i name2 j" lines

Protocol: people with at least ``--min-faces`` images (scikit-learn's ``fetch_lfw_people``
selection); per person a seeded ``--test-fraction`` of the images (at least one) is the test
set, the rest the k-NN memory; faces are cropped with scikit-learn's default box
(``--crop 78 70 172 195``, x1 y1 x2 y2 on 250 x 250 images, scaled for other sizes) by
``CropFaceBox`` and resized to ``--img-size``. Features: the config's backbone with global
average pooling behind its own data preprocessor
(:func:`mmfer.evaluation.backbone_model_cfg`, :func:`mmfer.evaluation.extract_features`);
cosine k-NN with ``exp(sim / 0.07)`` voting (:func:`mmfer.evaluation.knn_accuracy`). With
``--pairs``, also the verification accuracy of cosine similarity, threshold chosen on 9 of
10 folds (:func:`mmfer.evaluation.verification_accuracy`).

Example::

    python tools/misc/fr_knn_lfw.py configs/sslfer/sslfer_resnet50_4xb64-adam-coslr-210e_voxceleb_f-*.py \\
        work_dirs/sslfer_f/epoch_100.pth --lfw-root data/lfw --pairs data/lfw/pairs.txt
"""
import argparse
import json
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

import mmfer  # noqa: F401
from mmfer.evaluation import (backbone_model_cfg, extract_features, knn_accuracy,
                              verification_accuracy)
from mmfer.evaluation.lfw import read_pairs, scan_lfw, split_people
from mmfer.models.utils import load_backbone_weights
from mmfer.registry import MODELS
from mmfer.utils import register_all_modules


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Identity k-NN on LFW with frozen features')
    p.add_argument('config', help='config whose model.backbone is evaluated')
    p.add_argument('checkpoint', help='checkpoint (backbone.* keys or a plain backbone)')
    p.add_argument('--lfw-root', required=True, help='folder of <Person>/<Person>_NNNN.jpg')
    p.add_argument('--pairs', help='LFW pairs.txt for verification accuracy (optional)')
    p.add_argument('--min-faces', type=int, default=20, help='images per person to keep')
    p.add_argument('--test-fraction', type=float, default=0.25)
    p.add_argument('--k', type=int, nargs='+', default=[1, 5, 20])
    p.add_argument('--img-size', type=int, default=112)
    p.add_argument('--crop', type=int, nargs=4, default=[78, 70, 172, 195],
                   metavar=('X1', 'Y1', 'X2', 'Y2'), help='face box on a 250 x 250 image')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--num-workers', type=int, default=2)
    p.add_argument('--out', default='work_dirs/fr_knn_lfw/metrics.json')
    args = p.parse_args(argv)
    for name in ('min_faces', 'img_size', 'batch_size'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1')
    if min(args.k) < 1 or not 0 < args.test_fraction < 1:
        p.error('--k values must be >= 1 and --test-fraction in (0, 1)')
    return args


def face_features(model, paths, args, labels=None, desc='LFW'):
    """Feature set of ``paths``: crop (box scaled to each image's size), resize, features."""
    x1, y1, x2, y2 = args.crop
    boxes = []
    for p in paths:
        w, h = Image.open(p).size
        boxes.append(np.array([x1 * w / 250, y1 * h / 250, x2 * w / 250, y2 * h / 250],
                              np.float32))
    dataset = dict(type='ImageListDataset', img_paths=list(paths), labels=labels,
                   extra_fields=dict(face_bbox=boxes), test_mode=True,
                   pipeline=[dict(type='LoadFaceImage'), dict(type='CropFaceBox'),
                             dict(type='Resize', scale=(args.img_size, args.img_size),
                                  interpolation='area'),
                             dict(type='PackInputs')])
    loader = Runner.build_dataloader(dict(
        batch_size=args.batch_size, num_workers=args.num_workers, dataset=dataset,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate')))
    return extract_features(model, loader, desc=desc)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    model = MODELS.build(backbone_model_cfg(cfg))
    load_backbone_weights(model.backbone, args.checkpoint)

    people = scan_lfw(args.lfw_root)
    tr, trl, te, tel, names = split_people(people, args.min_faces, args.test_fraction,
                                           args.seed)
    bank = face_features(model, tr, args, trl, 'LFW memory features')
    query = face_features(model, te, args, tel, 'LFW test features')
    out = dict(num_identities=len(names), num_train=len(tr), num_test=len(te),
               min_faces=args.min_faces, checkpoint=osp.abspath(args.checkpoint))
    res = knn_accuracy(bank['feats'], bank['gt_label'], query['feats'], query['gt_label'],
                       args.k, num_classes=len(names))
    for k, r in res.items():  # keyed by the k actually used (<= the memory size)
        out[f'knn_top1/k{k}'] = 100. * r['accuracy']
    if args.pairs:
        pairs = read_pairs(args.pairs, args.lfw_root)
        pf = face_features(model, [p for pr in pairs for p in pr[:2]], args,
                           desc='LFW pair features')['feats']
        pf = torch.nn.functional.normalize(pf, dim=1)
        sims = (pf[0::2] * pf[1::2]).sum(1).numpy()
        out['num_pairs'] = len(pairs)
        out['verification_acc'] = 100. * verification_accuracy(sims, [p[2] for p in pairs])
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(out, f, indent=1)
    print(f'FR-KNN on LFW: {len(names)} people (>= {args.min_faces} images), '
          f'{len(tr)} memory / {len(te)} test images')
    for key, v in out.items():
        if key.startswith(('knn_top1', 'verification')):
            print(f'  {key:20s} {v:6.2f}')
    print(f'metrics written to {args.out}')


if __name__ == '__main__':
    main()
