#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""`make demo`: ContraWarping-BYOL vs plain BYOL on synthetic faces, end to end.

Steps (each one a command a user could type; all are printed and written to the report):

1. write synthetic faces: an unlabeled folder with landmarks for pre-training, and a labelled
   expression set in RAF-DB's layout (other people) for evaluation;
2. pre-train ContraWarping-BYOL ResNet-18 (RW† + LD) with ``tools/train.py``;
3. pre-train plain BYOL with the same data, pipeline, schedule, iterations and seed;
4. save the common random initialisation as a checkpoint (the "random init" row);
5. ``tools/test.py`` (k-NN and linear probe on frozen features) for the three checkpoints;
6. draw the views (``tools/visualize/show_views.py``), the loss curves and a t-SNE of the
   test features coloured by expression and by identity, and write ``report.md``.

Re-running continues where it stopped: finished steps are skipped, an interrupted pre-training
resumes from its last checkpoint.

Example::

    python tools/misc/run_demo.py --work-dir work_dirs/demo --iters 120
"""
import argparse
import csv
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = (
    ('contrawarp_byol', 'ContraWarping-BYOL (RW† + LD)', 'configs/contrawarp/byol_r18_synthetic.py'),
    ('byol', 'BYOL (mmpretrain)', 'configs/byol/byol_r18_synthetic.py'),
)
EVAL_CONFIG = 'configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb-synthetic64.py'


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--data-root', default='data/demo')
    p.add_argument('--iters', type=int, default=120, help='pre-training iterations per method')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--num-pretrain', type=int, default=2000, help='unlabeled faces')
    p.add_argument('--num-eval', type=int, default=1500, help='labelled faces (RAF-DB layout)')
    p.add_argument('--image-size', type=int, default=64)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=2, help='dataloader workers')
    return p.parse_args(argv)


def banner(text: str) -> None:
    print(f'\n{"=" * 78}\n[demo] {text}\n{"=" * 78}', flush=True)


def run(cmd: List[str], log_path: str) -> None:
    """Run ``cmd`` from the repo root, streaming its output to the console and a log file."""
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    print('$ ' + ' '.join(shlex.quote(c) for c in cmd), flush=True)
    with open(log_path, 'a') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        code = proc.wait()
    if code != 0:
        raise SystemExit(f'[demo] step failed (exit {code}): {" ".join(cmd)}\n'
                         f'[demo] full output: {log_path}')


def display(cmd: List[str]) -> str:
    """The command as a user types it (``python`` instead of this interpreter's path)."""
    return ' '.join(['python' if c == sys.executable else shlex.quote(c) for c in cmd])


def make_data(args, commands: Dict[str, str]) -> Dict[str, str]:
    pretrain = osp.join(args.data_root, 'pretrain')
    rafdb = osp.join(args.data_root, 'rafdb')
    jobs = [
        (pretrain, 'landmarks.npz', ['--format', 'folder', '--num', str(args.num_pretrain),
                                     '--seed', str(args.seed)]),
        # other generator seed: people disjoint from the pre-training set
        (rafdb, 'meta.csv', ['--format', 'rafdb', '--num', str(args.num_eval),
                             '--seed', str(args.seed + 1000)]),
    ]
    for root, done_file, extra in jobs:
        cmd = [sys.executable, 'tools/misc/make_synthetic_faces.py', root, '--image-size',
               str(args.image_size)] + extra
        commands[f'data: {osp.basename(root)}'] = display(cmd)
        if osp.isfile(osp.join(REPO, root, done_file)):
            print(f'[demo] {root} exists, skipped', flush=True)
            continue
        run(cmd, osp.join(args.work_dir, 'logs', f'data_{osp.basename(root)}.log'))
    return dict(pretrain=pretrain, rafdb=rafdb)


def pretrain(args, name: str, config: str, data_root: str, commands: Dict[str, str]) -> float:
    """Pre-train one method (skipped when done, resumed when interrupted); returns seconds."""
    work = osp.join(args.work_dir, name)
    final = osp.join(work, f'iter_{args.iters}.pth')
    warm = min(20, max(1, args.iters // 5))
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work, '--cfg-options',
           f'train_dataloader.dataset.data_root={data_root}',
           f'train_dataloader.batch_size={args.batch_size}',
           f'train_dataloader.num_workers={args.workers}',
           f'train_dataloader.persistent_workers={args.workers > 0}',
           f'train_cfg.max_iters={args.iters}', f'randomness.seed={args.seed}',
           f'param_scheduler.0.end={warm}', f'param_scheduler.1.begin={warm}',
           f'param_scheduler.1.T_max={args.iters - warm}', f'param_scheduler.1.end={args.iters}',
           f'default_hooks.checkpoint.interval={max(1, args.iters // 4)}',
           f'default_hooks.logger.interval={max(1, min(5, args.iters // 2))}']
    commands[f'pre-train: {name}'] = display(cmd)
    timing = osp.join(REPO, work, 'demo_train_seconds.json')
    if osp.isfile(osp.join(REPO, final)) and osp.isfile(timing):
        print(f'[demo] {final} exists, skipped', flush=True)
    else:
        resume = ['--resume'] if osp.isfile(osp.join(REPO, work, 'last_checkpoint')) else []
        tic = time.time()
        run(cmd + resume, osp.join(args.work_dir, 'logs', f'train_{name}.log'))
        with open(timing, 'w') as f:
            json.dump(dict(seconds=time.time() - tic, resumed=bool(resume)), f)
    with open(timing) as f:
        return json.load(f)['seconds']


def save_random_init(args, commands: Dict[str, str]) -> str:
    """The common random initialisation of the backbone, as an mmfer-style checkpoint."""
    path = osp.join(args.work_dir, 'random_init', 'backbone_init.pth')
    commands['random init'] = ('python -c "<build the config\'s backbone with seed '
                               f'{args.seed}, init_weights(), save backbone.* keys>"')
    if osp.isfile(osp.join(REPO, path)):
        return path
    import torch
    from mmengine.config import Config
    from mmengine.runner import set_random_seed

    from mmfer.registry import MODELS
    from mmfer.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, METHODS[0][2]))
    set_random_seed(args.seed)
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    os.makedirs(osp.dirname(osp.join(REPO, path)), exist_ok=True)
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in backbone.state_dict().items()},
                    meta=dict(note='random initialisation', seed=args.seed)),
               osp.join(REPO, path))
    return path


def evaluate(args, name: str, ckpt: str, rafdb: str, commands: Dict[str, str]) -> Dict:
    work = osp.join(args.work_dir, 'eval', name)
    cmd = [sys.executable, 'tools/test.py', EVAL_CONFIG, ckpt, '--eval', 'knn', 'linear',
           '--work-dir', work, '--cfg-options', f'test_dataloader.dataset.data_root={rafdb}',
           f'test_cfg.bank_dataloader.dataset.data_root={rafdb}']
    commands[f'evaluate: {name}'] = display(cmd)
    out = osp.join(REPO, work, 'metrics.json')
    if not osp.isfile(out) or osp.getmtime(out) < osp.getmtime(osp.join(REPO, ckpt)):
        run(cmd, osp.join(args.work_dir, 'logs', f'eval_{name}.log'))
    with open(out) as f:
        return json.load(f)


def scalars(work: str) -> List[Dict]:
    """Training log rows (mmengine's vis_data/scalars.json) of the newest run in ``work``."""
    rows = []
    runs = sorted(d for d in os.listdir(work) if osp.isfile(osp.join(work, d, 'vis_data',
                                                                      'scalars.json')))
    for d in runs:  # a resumed run continues the iteration count of the earlier one
        with open(osp.join(work, d, 'vis_data', 'scalars.json')) as f:
            rows += [json.loads(x) for x in f if x.strip()]
    by_step = {r['step']: r for r in rows if 'loss' in r}
    return [by_step[s] for s in sorted(by_step)]


def plot_losses(args, out_png: str) -> None:
    from mmfer.visualization import plot_scalars
    logs = {label: scalars(osp.join(REPO, args.work_dir, name)) for name, label, _ in METHODS}
    plot_scalars(logs, [
        dict(keys=['loss'], title='pre-training loss (each method its own objective)'),
        dict(keys=['loss_cont12', 'loss_cont13', 'sim12', 'sim13', 'loss_lm1', 'loss_lm3'],
             title='ContraWarping terms', hlines={'s_t = 0.6': 0.6}),
    ], out_png)


def test_features(ckpt: str, rafdb: str, image_size: int):
    """Frozen features of the RAF-DB-layout test split, with expression/identity.

    The evaluation config's model and test dataloader (its ``image_size`` pipeline) through
    :func:`mmfer.evaluation.extract_features`; expression and identity come from the
    generator's ``meta.csv``.
    """
    import copy

    import numpy as np
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmfer.evaluation import extract_features
    from mmfer.models.utils import load_backbone_weights
    from mmfer.registry import MODELS
    from mmfer.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, EVAL_CONFIG))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg)
    load_backbone_weights(model.backbone, osp.join(REPO, ckpt))
    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    loader_cfg.dataset.update(data_root=osp.join(REPO, rafdb), test_mode=True)
    for step in loader_cfg.dataset.pipeline:
        if step.type == 'Resize':
            step.scale = (image_size, image_size)
    feats = extract_features(model, Runner.build_dataloader(loader_cfg), progress=False)
    with open(osp.join(REPO, rafdb, 'meta.csv')) as f:
        meta = {osp.normpath(osp.join(REPO, rafdb, r['img_path'])): r
                for r in csv.DictReader(f)}
    rows = [meta[osp.normpath(p)] for p in feats['img_path']]
    return (feats['feats'].numpy(), [r['expression'] for r in rows],
            np.array([int(r['identity']) for r in rows]))


def plot_tsne(args, ckpts: Dict[str, str], rafdb: str, out_png: str) -> None:
    from mmfer.visualization import plot_embedding
    feats, labels = {}, {}
    for name, ckpt in ckpts.items():
        feats[name], expr, ids = test_features(ckpt, rafdb, args.image_size)
        labels = dict(expression=expr, identity=ids)
    plot_embedding(feats, labels, out_png, seed=args.seed)


def metric(metrics: Dict, path: str) -> Optional[float]:
    """A value of ``tools/test.py``'s metrics.json by its ``/``-separated path."""
    value = metrics
    for key in path.split('/'):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value)


def write_report(args, results: Dict[str, Dict], commands: Dict[str, str],
                 timings: Dict[str, float], figures: Dict[str, str]) -> str:
    labels = {n: lab for n, lab, _ in METHODS}
    labels['random_init'] = 'random initialisation'
    lines = [
        '# mmfer demo: ContraWarping-BYOL vs BYOL on synthetic faces', '',
        f'Pre-training: ResNet-18, {args.iters} iterations x batch {args.batch_size} at '
        f'{args.image_size} px on {args.num_pretrain} unlabeled synthetic faces (seed '
        f'{args.seed}); evaluation: frozen features of {args.num_eval} labelled faces of other '
        'people in RAF-DB layout (7 classes, chance 14.3 %), k-NN (cosine, exp(sim/0.07)) and a '
        'linear probe whose weight decay is chosen on a validation split of the training '
        'faces (`tools/test.py`).', '',
        '| backbone | k-NN top-1 (k=10) | k-NN top-1 (k=30) | linear top-1 | linear macro-F1 | '
        'pre-training time |',
        '| --- | --- | --- | --- | --- | --- |',
    ]

    def fmt(v):
        return '-' if v is None else f'{v:.2f}'

    for name, m in results.items():
        lines.append(
            f'| {labels[name]} | {fmt(metric(m, "knn/k=10/accuracy"))} '
            f'| {fmt(metric(m, "knn/k=30/accuracy"))} '
            f'| {fmt(metric(m, "linear/accuracy"))} '
            f'| {fmt(metric(m, "linear/macro_f1"))} '
            f'| {timings.get(name, 0.0) / 60:.1f} min |')
    lines += ['', 'Raw metrics (`metrics.json` of each evaluation):', '', '```json',
              json.dumps(results, indent=1)[:6000], '```', '',
              'These are synthetic faces and a CPU-sized budget: the numbers check that the '
              'pipeline learns and compare methods under the same budget; they are not the '
              "paper's numbers.", '']
    for title, png in figures.items():
        lines += [f'## {title}', '', f'![{title}]({osp.basename(png)})', '']
    lines += ['## Commands (rerun each step; on real data change the data roots)', '']
    for step, cmd in commands.items():
        lines += [f'- {step}:', f'  `{cmd}`']
    lines += [
        '', 'On real data: extract pseudo-landmarks with `tools/landmarks/extract_landmarks.py` '
        '(mmpose HRNetV2-W18 300W checkpoint), pre-train with '
        '`tools/dist_train.sh configs/contrawarp/contrawarp-byol_resnet50_8xb512-lars-coslr-50e_ms1m.py 8` and evaluate with '
        '`tools/test.py configs/contrawarp/benchmarks/resnet18_knn-linear_rafdb.py CKPT` '
        '(see README).', '']
    out = osp.join(REPO, args.work_dir, 'report.md')
    with open(out, 'w') as f:
        f.write('\n'.join(lines))
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    os.makedirs(osp.join(REPO, args.work_dir), exist_ok=True)
    commands: Dict[str, str] = {}
    timings: Dict[str, float] = {}
    t_start = time.time()

    banner('1/6 synthetic faces')
    data = make_data(args, commands)
    ckpts: Dict[str, str] = {}
    for i, (name, label, config) in enumerate(METHODS):
        banner(f'{2 + i}/6 pre-training {label}: {args.iters} iterations')
        timings[name] = pretrain(args, name, config, data['pretrain'], commands)
        ckpts[name] = osp.join(args.work_dir, name, f'iter_{args.iters}.pth')
    banner('4/6 random initialisation')
    ckpts['random_init'] = save_random_init(args, commands)
    banner('5/6 k-NN and linear probe (tools/test.py)')
    results = {name: evaluate(args, name, ckpt, data['rafdb'], commands)
               for name, ckpt in ckpts.items()}
    banner('6/6 figures and report')
    work = osp.join(REPO, args.work_dir)
    views = osp.join(work, 'views.png')
    cmd = [sys.executable, 'tools/visualize/show_views.py', METHODS[0][2], '--num', '6',
           '--out', views, '--cfg-options', f'train_dataloader.dataset.data_root={data["pretrain"]}']
    commands['warp views (Fig. 4 style)'] = display(cmd)
    run(cmd, osp.join(args.work_dir, 'logs', 'views.log'))
    figures = {'Views: original / x1 / x2 / x3 with warp arrows and landmarks': views}
    plot_losses(args, osp.join(work, 'loss_curves.png'))
    figures['Loss curves'] = osp.join(work, 'loss_curves.png')
    plot_tsne(args, ckpts, data['rafdb'], osp.join(work, 'tsne.png'))
    figures['t-SNE of test features (top: expression, bottom: identity)'] = osp.join(
        work, 'tsne.png')
    report = write_report(args, results, commands, timings, figures)
    banner(f'done in {(time.time() - t_start) / 60:.1f} min')
    print(f'[demo] report:  {report}')
    for title, png in figures.items():
        print(f'[demo] figure:  {png}')
    print(f'[demo] logs:    {osp.join(work, "logs")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
