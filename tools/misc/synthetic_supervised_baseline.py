#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Supervised upper bound on synthetic faces: can a config's backbone learn expression, and
does identity leak it?

Trains the backbone of ``--config`` (any mmfer config with ``model.backbone``; default the SSL
study's narrow ResNet-18) + global pooling + a linear layer on the train split of a synthetic
RAF-DB layout (written with ``--num`` faces of ``--num-identities`` people when the folder is
empty) and reports the top-1 accuracy on its test split, whose people never appear in the
train split. The leakage check predicts each training face's expression from the other faces of
its person (and a chi-square test of identity x expression): both must be at chance, because
the generator draws identity and expression independently. Library code:
:func:`mmfer.apis.supervised_baseline.supervised_config`.

Example (about a minute on 2 idle CPU cores)::

    python tools/misc/synthetic_supervised_baseline.py --out work_dirs/baseline.json
    python tools/misc/synthetic_supervised_baseline.py --config CONFIG --image-size 64
"""
import argparse
import json
import os
import os.path as osp
import sys
import warnings

from mmfer.apis.ssl_study import REFERENCE_CONFIG


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=REFERENCE_CONFIG,
                   help='the config whose model.backbone is trained (default: %(default)s)')
    p.add_argument('--data-root', default='data/synthetic_supervised',
                   help='synthetic RAF-DB layout (written here when missing)')
    p.add_argument('--num', type=int, default=2500, help='faces written (80 %% train)')
    p.add_argument('--num-identities', type=int, default=500)
    p.add_argument('--image-size', type=int, default=48)
    p.add_argument('--data-seed', type=int, default=1000, help='generator seed (people)')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.1)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='work_dirs/synthetic_supervised_baseline')
    p.add_argument('--out', default=None, help='write the numbers to this JSON file')
    args = p.parse_args(argv)
    for k in ('num', 'num_identities', 'image_size', 'iters', 'batch_size'):
        if getattr(args, k) < 1:
            p.error(f'--{k.replace("_", "-")} must be >= 1')
    if args.num_identities < 2 or args.num < 2:
        p.error('--num and --num-identities must be >= 2 (train and test people differ)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings('ignore', message=r'Fail to import ``MultiScaleDeformableAttention')
    import csv

    from mmengine.config import Config

    from mmfer.apis.ssl_study import check_identity_disjoint, write_layout
    from mmfer.apis.supervised_baseline import (identity_expression_leakage,
                                                supervised_config)
    from mmfer.datasets.synthetic import fresh_out_root
    from mmfer.registry import RUNNERS
    from mmfer.utils import register_all_modules, setup_torch_threads
    register_all_modules(init_default_scope=True)
    if not osp.isfile(osp.join(args.data_root, 'meta.csv')):
        with fresh_out_root(args.data_root, overwrite=False) as tmp:
            write_layout(tmp, dict(format='rafdb', num=args.num,
                                   num_identities=args.num_identities,
                                   image_size=args.image_size, seed=args.data_seed))
        print(f'wrote {args.data_root}')
    people = check_identity_disjoint(args.data_root)
    rafdb = dict(type='RAFDB', data_root=args.data_root)
    cfg = supervised_config(Config.fromfile(args.config), dict(rafdb, split='train'), 7,
                            args.image_size, args.iters, batch_size=args.batch_size,
                            lr=args.lr, num_workers=1, test_dataset=dict(rafdb, split='test'),
                            work_dir=args.work_dir)
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    cfg.console_log_level = 'WARNING'
    setup_torch_threads(cfg)
    runner = RUNNERS.build(cfg)
    runner.train()
    metrics = runner.test()
    with open(osp.join(args.data_root, 'meta.csv'), newline='') as f:
        train = [r for r in csv.DictReader(f) if osp.basename(r['img_path']).startswith('train')]
    leak = identity_expression_leakage([r['identity'] for r in train],
                                       [int(r['gt_label']) for r in train], 8)
    res = dict(config=args.config, image_size=args.image_size, iters=args.iters,
               batch_size=args.batch_size, lr=args.lr, seed=args.seed, **people,
               test_accuracy_unseen_people=float(metrics['accuracy/top1']),
               chance=100.0 / 7, leakage=leak)
    print('== synthetic supervised baseline ==')
    print(f"expression top-1 on unseen people: {res['test_accuracy_unseen_people']:.1f} % "
          f"(7 classes, chance {res['chance']:.1f} %; {args.iters} iterations x batch "
          f"{args.batch_size}; bank {people['bank_identities']} people, test "
          f"{people['test_identities']} other people)")
    print(f"leakage: expression from the other faces of the same person "
          f"{100 * leak['identity_to_expression_acc']:.1f} % (chance "
          f"{100 * leak['chance']:.1f} %), chi2 p={leak['chi2_p_value']:.3f}: "
          f"{'at chance' if leak['at_chance'] else 'ABOVE CHANCE'}")
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
        print(f'numbers written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
