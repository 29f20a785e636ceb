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
(``--crop 78 70 172 195``, x1 y1 x2 y2 on 250 x 250 images, scaled for other sizes), resized
to ``--img-size`` and normalised like the config's data preprocessor. Cosine k-NN with
``exp(sim / 0.07)`` voting (:func:`mmfer.evaluation.knn_predict`). With ``--pairs``, also the
verification accuracy of cosine similarity, threshold chosen on 9 of 10 folds.

Example::

    python tools/misc/fr_knn_lfw.py configs/sslfer/sslfer_r18_4xb64-100e_voxceleb_f-*.py \\
        work_dirs/sslfer_f/epoch_100.pth --lfw-root data/lfw --pairs data/lfw/pairs.txt
"""
import argparse
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmfer  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402

from mmfer.evaluation import (extract_features, knn_predict,  # noqa: E402
                              load_backbone_weights)
from mmfer.registry import MODELS  # noqa: E402
from mmfer.utils import register_all_modules  # noqa: E402

IMG_EXT = ('.jpg', '.jpeg', '.png')


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
    return p.parse_args(argv)


def scan_lfw(root):
    """{person: [image paths]} of an LFW tree; raises when the layout is not there."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'LFW folder {root} does not exist')
    people = {}
    for name in sorted(os.listdir(root)):
        folder = osp.join(root, name)
        if not osp.isdir(folder):
            continue
        imgs = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMG_EXT))
        if imgs:
            people[name] = [osp.join(folder, f) for f in imgs]
    if not people:
        raise ValueError(f'{root}: no <Person>/<Person>_NNNN.jpg images (not an LFW layout)')
    return people


def split_people(people, min_faces, test_fraction, seed):
    """Seeded per-person split -> (train paths, train labels, test paths, test labels, names)."""
    rng = np.random.RandomState(seed)
    kept = [p for p in sorted(people) if len(people[p]) >= min_faces]
    if len(kept) < 2:
        raise ValueError(f'only {len(kept)} people have >= {min_faces} images; lower '
                         '--min-faces')
    tr, trl, te, tel = [], [], [], []
    for label, person in enumerate(kept):
        paths = list(people[person])
        order = rng.permutation(len(paths))
        n_test = max(1, int(round(test_fraction * len(paths))))
        for j, idx in enumerate(order):
            (te if j < n_test else tr).append(paths[idx])
            (tel if j < n_test else trl).append(label)
    return tr, trl, te, tel, kept


class FaceCrops(torch.utils.data.Dataset):
    """Cropped, resized, normalised RGB faces (3, S, S) from image paths."""

    def __init__(self, paths, crop, size, mean, std):
        self.paths, self.crop, self.size = list(paths), crop, size
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = cv2.imread(self.paths[i], cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f'cannot read image {self.paths[i]}')
        h, w = img.shape[:2]
        x1, y1, x2, y2 = self.crop
        sx, sy = w / 250., h / 250.
        rows = slice(int(round(y1 * sy)), int(round(y2 * sy)))
        cols = slice(int(round(x1 * sx)), int(round(x2 * sx)))
        img = img[rows, cols]
        img = cv2.resize(img, (self.size, self.size), interpolation=cv2.INTER_AREA)
        img = (img[:, :, ::-1].astype(np.float32) - self.mean) / self.std
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))))


def read_pairs(path, root):
    """LFW pairs.txt -> list of (path_a, path_b, same)."""
    def img(name, idx):
        return osp.join(root, name, f'{name}_{int(idx):04d}.jpg')

    pairs = []
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    for lineno, parts in enumerate(lines[1:], start=2):
        if len(parts) == 3:
            pairs.append((img(parts[0], parts[1]), img(parts[0], parts[2]), True))
        elif len(parts) == 4:
            pairs.append((img(parts[0], parts[1]), img(parts[2], parts[3]), False))
        else:
            raise ValueError(f'{path}:{lineno}: expected "name i j" or "name1 i name2 j"')
    missing = [p for pr in pairs for p in pr[:2] if not osp.isfile(p)]
    if missing:
        raise FileNotFoundError(f'{path}: {len(missing)} pair images missing, e.g. {missing[0]}')
    return pairs


def verification_accuracy(sims, same, folds=10):
    """Mean accuracy over folds, each thresholded at the best threshold of the other folds."""
    sims, same = np.asarray(sims), np.asarray(same, bool)
    fold_of = np.arange(len(sims)) * folds // len(sims)
    accs = []
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        if not test.any():
            continue
        cands = np.unique(sims[train]) if train.any() else np.array([0.])
        best = max(cands, key=lambda t: ((sims[train] >= t) == same[train]).mean())
        accs.append(((sims[test] >= best) == same[test]).mean())
    return 100. * float(np.mean(accs))


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    prep = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    mean = prep.get('mean', [123.675, 116.28, 103.53])
    std = prep.get('std', [58.395, 57.12, 57.375])
    backbone = MODELS.build(cfg.model.backbone)
    load_backbone_weights(backbone, args.checkpoint, prefix='backbone.')

    people = scan_lfw(args.lfw_root)
    tr, trl, te, tel, names = split_people(people, args.min_faces, args.test_fraction,
                                           args.seed)
    data = FaceCrops(tr + te, args.crop, args.img_size, mean, std)
    feats = extract_features(backbone, lambda b: b['inputs'], data, args.batch_size,
                             args.num_workers, desc='LFW')
    train_f, test_f = feats[:len(tr)], feats[len(tr):]
    out = dict(num_identities=len(names), num_train=len(tr), num_test=len(te),
               min_faces=args.min_faces, checkpoint=osp.abspath(args.checkpoint))
    for k in args.k:
        k_eff = min(k, len(tr))
        pred = knn_predict(train_f, torch.tensor(trl), test_f, k_eff, num_classes=len(names))
        out[f'knn_top1/k{k}'] = 100. * float((pred == torch.tensor(tel)).float().mean())
    if args.pairs:
        pairs = read_pairs(args.pairs, args.lfw_root)
        pf = extract_features(backbone, lambda b: b['inputs'],
                              FaceCrops([p for pr in pairs for p in pr[:2]], args.crop,
                                        args.img_size, mean, std),
                              args.batch_size, args.num_workers, desc='LFW pairs')
        pf = torch.nn.functional.normalize(pf, dim=1)
        sims = (pf[0::2] * pf[1::2]).sum(1).numpy()
        out['num_pairs'] = len(pairs)
        out['verification_acc'] = verification_accuracy(sims, [p[2] for p in pairs])
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
