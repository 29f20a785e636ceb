# Copyright (c) mmfer contributors. All rights reserved.
"""Calibrate the optimisation on BYOL only, scored without the test set.

Each setting pre-trains the BYOL row (``configs/ssl_study/byol_*.py``) with the preset's data
and budget and is scored on the **bank only**: the bank is split by person (the linear probe's
seeded, identity-grouped validation split), and the score is the mean of the k-NN@10 accuracy
of the held-out people against the others and the linear-probe accuracy on them. The test
split is never looked at, so choosing the best setting does not leak into the study's table.
"""
import json
import os.path as osp
from typing import Any, Dict, List, Sequence

from .data import layout_root, prepare_data
from .evaluation import FrozenEvaluator
from .presets import METHODS, Preset
from .runs import random_init_checkpoint, run_config, train_in_process

#: Knobs a calibration point may set.
KNOBS = ('lr', 'momentum', 'weight_decay', 'base_momentum', 'batch_size', 'iters')


def parse_point(text: str) -> Dict[str, float]:
    """``'lr=0.1,base_momentum=0.05'`` -> ``{'lr': 0.1, 'base_momentum': 0.05}``."""
    point: Dict[str, float] = {}
    for part in filter(None, text.split(',')):
        key, sep, value = part.partition('=')
        key = key.strip()
        if not sep or key not in KNOBS:
            raise ValueError(f'calibration point {text!r}: expected key=value pairs with keys '
                             f'in {KNOBS}, got {part!r}')
        try:
            point[key] = int(value) if key in ('batch_size', 'iters') else float(value)
        except ValueError:
            raise ValueError(f'calibration point {text!r}: {key} needs a number, got '
                             f'{value!r}') from None
    return point


def bank_validation_score(evaluator: FrozenEvaluator, checkpoint: str,
                          seed: int = 0) -> Dict[str, float]:
    """Score a checkpoint on the bank alone (see the module docstring); percent."""
    from mmfer.evaluation import knn_accuracy, linear_probe_eval, validation_split
    feats = evaluator.features(checkpoint, sets=('bank', ))['bank']  # never the test split
    y = feats['gt_label']
    fit, val = validation_split(y, feats['identity'], 0.2, seed)
    knn = knn_accuracy(feats['feats'][fit], y[fit], feats['feats'][val], y[val], topk=(10, ))
    probe = linear_probe_eval(feats['feats'][fit], y[fit], feats['feats'][val], 7,
                              bank_groups=feats['identity'][fit],
                              seed=seed)
    lin = float((probe['pred'] == y[val]).double().mean())
    k10 = next(iter(knn.values()))['accuracy']
    return dict(knn10_val=100 * k10, linear_val=100 * lin, score=50 * (k10 + lin),
                num_fit=int(fit.numel()), num_val=int(val.numel()),
                probe_wd=float(probe['weight_decay']))


def run_calibration(preset: Preset, work_dir: str, data_root: str, points: Sequence[str],
                    seed: int = 0, method: str = 'byol', log=print) -> List[Dict[str, Any]]:
    """Pre-train ``method`` (BYOL) once per point and score it on the bank's validation
    people; results appended to ``<work_dir>/calibration.json`` and printed."""
    data = prepare_data(preset, data_root, log)
    evaluator = FrozenEvaluator(data['roots']['rafdb'])
    m = METHODS[method]
    out_file = osp.join(work_dir, 'calibration.json')
    rows: List[Dict[str, Any]] = []
    if osp.isfile(out_file):
        with open(out_file) as f:
            rows = json.load(f)
    if not any(r['name'] == 'random_init' and r['seed'] == seed for r in rows):
        # the reference every setting must beat: the same network untrained
        ckpt = random_init_checkpoint(seed, osp.join(work_dir, 'calibration', 'random_init',
                                                     f'seed{seed}', 'backbone_init.pth'))
        rows.append(dict(name='random_init', seed=seed, point={}, seconds=0.0,
                         cpu_seconds=0.0, iters=0, batch_size=0, lr=0.0,
                         **bank_validation_score(evaluator, ckpt, seed)))
        log(f"calibration reference random_init (seed {seed}): score {rows[-1]['score']:.1f} "
            f"(k-NN@10 val {rows[-1]['knn10_val']:.1f}, linear val "
            f"{rows[-1]['linear_val']:.1f})")
    for text in points:
        point = parse_point(text)
        name = '_'.join(f'{k}{v:g}' for k, v in sorted(point.items())) or 'default'
        if any(r['name'] == name and r['seed'] == seed for r in rows):
            log(f'calibration {name} (seed {seed}): done earlier')
            continue
        optim = {k: v for k, v in point.items() if k != 'iters'}
        cfg = run_config(m.config, preset, seed, osp.join(work_dir, 'calibration', name,
                                                          f'seed{seed}'),
                         layout_root(data['roots'], m.data), iters=point.get('iters'),
                         optim=optim)
        ckpt, seconds, cpu = train_in_process(cfg)
        score = bank_validation_score(evaluator, ckpt, seed)
        row = dict(name=name, seed=seed, point=point, seconds=seconds, cpu_seconds=cpu,
                   iters=int(cfg.train_cfg.max_iters),
                   batch_size=int(cfg.train_dataloader.batch_size),
                   lr=cfg.optim_wrapper.optimizer.lr, **score)
        rows.append(row)
        with open(out_file, 'w') as f:
            json.dump(rows, f, indent=1)
        log(f"calibration {name} (seed {seed}): score {row['score']:.1f} (k-NN@10 val "
            f"{row['knn10_val']:.1f}, linear val {row['linear_val']:.1f}), "
            f"{row['iters']} it x {row['batch_size']} in {seconds:.0f} s")
    return rows
