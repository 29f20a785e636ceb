#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Plain BYOL vs ContraWarping-BYOL (RW† + LD) on synthetic faces, k-NN expression accuracy.

Both runs use ``configs/contrawarp/byol_r18_synthetic.py``: the same data, views x1/x2,
backbone, projector/predictor, optimiser, schedule, iterations and seed. Plain BYOL is
mmpretrain's ``BYOL`` on x1/x2 (x3 is produced by the shared pipeline and ignored);
ContraWarping-BYOL adds the x1/x3 hinge term and the landmark branch. After pre-training the
frozen backbone features (global average pooled last stage) of a separate labeled synthetic
set (other identities, split by identity into a k-NN bank and a test half) are classified
with cosine k-NN (k=10, ``mmfer.evaluation.knn_predict``) over the 8 expression classes. The
random-initialisation backbone is reported as a reference.

Example (about 10 minutes on 2 CPU cores)::

    OMP_NUM_THREADS=2 python tools/misc/compare_byol_contrawarp.py --work-dir work_dirs/cmp \\
        --iters 80 --batch-size 32
"""
import argparse
import copy
import csv
import json
import os
import os.path as osp
import sys
import time

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'contrawarp', 'byol_r18_synthetic.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='BYOL vs ContraWarping-BYOL on synthetic faces')
    p.add_argument('--work-dir', default='work_dirs/compare_byol_contrawarp')
    p.add_argument('--iters', type=int, default=80, help='pre-training iterations per method')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--num-train', type=int, default=2000, help='unlabeled pre-training images')
    p.add_argument('--num-eval', type=int, default=1000, help='labeled k-NN images')
    p.add_argument('--image-size', type=int, default=64)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--k', type=int, default=10)
    p.add_argument('--methods', nargs='+', default=['byol', 'contrawarp'],
                   choices=['byol', 'contrawarp'])
    return p.parse_args(argv)


def _data(work_dir, args):
    from mmfer.datasets.synthetic import write_face_folder
    train = osp.join(work_dir, 'data', 'pretrain')
    evald = osp.join(work_dir, 'data', 'eval')
    if not osp.isfile(osp.join(train, 'landmarks.npz')):
        write_face_folder(train, num=args.num_train, image_size=args.image_size, seed=args.seed,
                          num_identities=max(1, args.num_train // 10), progress=True)
    if not osp.isfile(osp.join(evald, 'meta.csv')):
        # another generator seed: other people than in the pre-training set
        write_face_folder(evald, num=args.num_eval, image_size=args.image_size,
                          seed=args.seed + 1000, num_identities=max(2, args.num_eval // 10),
                          progress=True)
    return train, evald


def _config(method, data_root, work_dir, args):
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters)
    warm = min(20, max(1, args.iters // 4))
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warm),
        dict(type='CosineAnnealingLR', T_max=max(1, args.iters - warm), by_epoch=False,
             begin=warm, end=args.iters),
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=args.iters, max_keep_ckpts=1)
    if method == 'byol':
        model = copy.deepcopy(cfg.model)
        for key in ('contrawarp_loss', 'landmark_head', 'landmark_loss_weight'):
            model.pop(key, None)
        model.type = 'BYOL'  # mmpretrain's BYOL: uses inputs[0], inputs[1] (x1, x2)
        cfg.model = model
    return cfg


@torch.no_grad()
def _features(model, folder, size):
    """(N, C) pooled last-stage backbone features and expression labels of a folder."""
    import cv2
    with open(osp.join(folder, 'meta.csv')) as f:
        rows = list(csv.DictReader(f))
    imgs = np.stack([cv2.resize(cv2.imread(osp.join(folder, r['img_path'])), (size, size))
                     for r in rows])
    labels = torch.tensor([int(r['gt_label']) for r in rows])
    ids = np.array([int(r['identity']) for r in rows])
    model.eval()
    feats = []
    for i in range(0, len(imgs), 128):
        x = torch.from_numpy(imgs[i:i + 128]).permute(0, 3, 1, 2).contiguous()
        data = model.data_preprocessor(dict(inputs=[x], data_samples=None), False)
        f = model.extract_feat(data['inputs'][0])[-1]
        feats.append(f.mean(dim=(2, 3)))
    return torch.cat(feats), labels, ids


def _knn_accuracy(model, eval_dir, size, k):
    from mmfer.evaluation import knn_predict
    feats, labels, ids = _features(model, eval_dir, size)
    people = np.unique(ids)
    bank_people = set(people[::2].tolist())  # identity-disjoint halves
    bank = torch.from_numpy(np.isin(ids, list(bank_people)))
    pred = knn_predict(feats[bank], labels[bank], feats[~bank], k=k, temperature=0.07,
                       weighting='exp', num_classes=8)
    return float((pred == labels[~bank]).float().mean()), int(bank.sum()), int((~bank).sum())


def _last_log(work_dir):
    import glob
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        return {}, {}
    rows = [json.loads(x) for x in open(files[-1]) if x.strip()]
    rows = [r for r in rows if 'loss' in r]
    return (rows[0] if rows else {}), (rows[-1] if rows else {})


def main(argv=None):
    args = parse_args(argv)
    from mmengine.runner import Runner

    from mmfer.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    train_dir, eval_dir = _data(work, args)
    results = dict(iters=args.iters, batch_size=args.batch_size, image_size=args.image_size,
                   seed=args.seed, k=args.k, threads=torch.get_num_threads(), methods={})

    for i, method in enumerate(args.methods):
        cfg = _config(method, train_dir, osp.join(work, method), args)
        runner = Runner.from_cfg(cfg)
        if i == 0:  # the common random initialisation (same seed for every method)
            acc0, n_bank, n_test = _knn_accuracy(runner.model, eval_dir, args.image_size,
                                                 args.k)
            results['random_init_knn_acc'] = acc0
            results['knn_bank'], results['knn_test'] = n_bank, n_test
            print(f'random init: k-NN acc {acc0:.4f}', flush=True)
        t0 = time.time()
        runner.train()
        wall = time.time() - t0
        acc, _, _ = _knn_accuracy(runner.model, eval_dir, args.image_size, args.k)
        first, last = _last_log(osp.join(work, method))
        results['methods'][method] = dict(knn_acc=acc, train_wall_s=round(wall, 1),
                                          first_log=first, last_log=last)
        print(f'{method}: k-NN acc {acc:.4f} after {args.iters} iterations ({wall:.0f}s)',
              flush=True)
    out = osp.join(work, 'results.json')
    with open(out, 'w') as f:
        json.dump(results, f, indent=2)
    print(json.dumps({m: r['knn_acc'] for m, r in results['methods'].items()}
                     | dict(random_init=results.get('random_init_knn_acc')), indent=2))
    print(f'details: {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
