# Copyright (c) mmfer contributors. All rights reserved.
"""The study end to end, resumable: data → every (seed, method) run → table, figures, report."""
import json
import os
import os.path as osp
import shlex
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .data import layout_root, prepare_data
from .evaluation import FrozenEvaluator, summarise_rows
from .presets import EVAL_CONFIG, METHODS, PRESETS, Preset
from .report import (MONITOR_KEYS, mean_curves, plot_losses, plot_monitor, table_markdown,
                     write_report)
from .runs import (monitor_hook, random_init_checkpoint, run_config, supervised_run_config,
                   train_in_process)

RESULT = 'result.json'


class StudyLog:
    """Progress lines: on the console and appended to ``<work_dir>/study.log``."""

    def __init__(self, work_dir: str, stream=None) -> None:
        self.path = osp.join(work_dir, 'study.log')
        self.stream = stream or sys.stdout

    def __call__(self, msg: str) -> None:
        line = f'[study] {msg}'
        print(line, file=self.stream, flush=True)
        with open(self.path, 'a') as f:
            f.write(time.strftime('%Y-%m-%d %H:%M:%S ') + line + '\n')


def study_command(preset: str, work_dir: str, data_root: str, methods: Sequence[str],
                  seeds: Sequence[int]) -> str:
    cmd = ['python', 'tools/misc/ssl_benchmark.py', '--preset', preset, '--work-dir', work_dir,
           '--data-root', data_root]
    if list(methods) != list(METHODS):
        cmd += ['--methods'] + list(methods)
    if list(seeds) != list(PRESETS[preset].seeds):
        cmd += ['--seeds'] + [str(s) for s in seeds]
    return ' '.join(shlex.quote(c) for c in cmd)


def _result_line(i: int, n: int, method: str, seed: int, res: Dict[str, Any],
                 skipped: bool = False) -> str:
    m = res['metrics']
    what = 'done earlier' if skipped else (
        'random weights' if res.get('train_seconds') is None else
        f"{res['iters']} it in {res['train_seconds']:.0f} s "
        f"({60 * res['iters'] / max(res['train_seconds'], 1e-9):.0f} it/min)")
    return (f'[{i:2d}/{n}] seed {seed} {METHODS[method].label}: {what} | '
            f"k-NN@10 {m['knn/k=10/accuracy']:.1f}, linear {m['linear/accuracy']:.1f}, "
            f"identity 1-NN {m.get('identity_nn/accuracy', float('nan')):.1f}, "
            f"eff. rank {m.get('feature_rank/effective_rank', float('nan')):.1f}")


def _scalars(work: str) -> Dict[str, List[dict]]:
    from mmfer.visualization.log_analysis import load_scalars
    try:
        return load_scalars(work)
    except FileNotFoundError:
        return dict(train=[], val=[])


def run_one(method: str, seed: int, preset: Preset, work_dir: str, roots: Dict[str, str],
            evaluator: FrozenEvaluator, optim: Optional[Dict[str, float]] = None,
            monitor: bool = True) -> Dict[str, Any]:
    """Train (or build) and evaluate one row for one seed; the result is written to
    ``<run dir>/result.json``, which a later call returns without recomputing."""
    m = METHODS[method]
    run_dir = osp.join(work_dir, 'runs', method, f'seed{seed}')
    done = osp.join(run_dir, RESULT)
    if osp.isfile(done):
        with open(done) as f:
            return dict(json.load(f), skipped=True)
    os.makedirs(run_dir, exist_ok=True)
    hook = monitor_hook(preset, roots['rafdb']) if monitor else None
    launches = osp.join(run_dir, 'launch_seconds.json')
    train_seconds, train_cpu, iters, cfg_file, done_launches = None, None, 0, None, []
    if m.kind == 'random':
        ckpt = random_init_checkpoint(seed, osp.join(run_dir, 'backbone_init.pth'))
    else:
        if m.kind == 'supervised':
            cfg = supervised_run_config(preset, seed, run_dir, roots['rafdb'], hook, optim)
        else:
            cfg = run_config(m.config, preset, seed, run_dir, layout_root(roots, m.data),
                             monitor=hook, optim=optim)
        iters = int(cfg.train_cfg.max_iters)
        cfg_file = osp.join(run_dir, 'config.py')
        cfg.dump(cfg_file)
        ckpt, seconds, cpu = train_in_process(cfg)
        if osp.isfile(launches):
            with open(launches) as f:
                done_launches = json.load(f)
        done_launches.append(dict(seconds=seconds, cpu_seconds=cpu))
        with open(launches, 'w') as f:
            json.dump(done_launches, f)
        train_seconds = float(sum(x['seconds'] for x in done_launches))
        train_cpu = float(sum(x['cpu_seconds'] for x in done_launches))
    tic = time.perf_counter()
    metrics, query = evaluator.evaluate(ckpt)
    np.save(osp.join(run_dir, 'test_feats.npy'), query['feats'].numpy())
    scalars = _scalars(run_dir) if m.kind != 'random' else dict(train=[], val=[])
    result = dict(method=method, seed=int(seed), checkpoint=ckpt, config=cfg_file,
                  iters=iters, train_seconds=train_seconds, train_cpu_seconds=train_cpu,
                  resumed=len(done_launches) > 1,
                  eval_seconds=time.perf_counter() - tic, metrics=metrics,
                  monitor=[r for r in scalars['val'] if MONITOR_KEYS[0] in r],
                  train_log=[{k: v for k, v in r.items()
                              if k in ('step', 'loss', 'sim12', 'sim13', 'loss_lm1',
                                       'loss_lm3', 'lr', 'time')}
                             for r in scalars['train']])
    tmp = done + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1, default=str)
    os.replace(tmp, done)
    return result


def check_study_manifest(work_dir: str, preset: Preset, data_root: str,
                         optim: Optional[Dict[str, float]]) -> None:
    """A work dir holds the runs of one setting: refuse another preset / data / optimiser."""
    path = osp.join(work_dir, 'study.json')
    want = dict(preset=preset.name, data_root=osp.abspath(data_root), optim=optim or {},
                iters=preset.iters, batch_size=preset.batch_size,
                supervised_iters=preset.supervised_iters)
    if osp.isfile(path):
        with open(path) as f:
            have = json.load(f)
        if have != want:
            diff = {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
            raise ValueError(f'{work_dir} holds the runs of another study setting ({diff}); '
                             'use another --work-dir (finished runs are reused, so a work '
                             'dir must hold one setting)')
    os.makedirs(work_dir, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(want, f, indent=1)


def tsne_figure(work_dir: str, methods: Sequence[str], seed: int, rafdb_root: str,
                evaluator: FrozenEvaluator, num: int, out_file: str) -> Optional[str]:
    """t-SNE of the test features of seed ``seed`` (a fixed random subset of ``num`` faces),
    coloured by expression and by identity."""
    from mmfer.visualization import plot_embedding
    feats = {}
    for key in methods:
        path = osp.join(work_dir, 'runs', key, f'seed{seed}', 'test_feats.npy')
        if osp.isfile(path):
            feats[METHODS[key].label] = np.load(path)
    if not feats:
        return None
    ds = evaluator.loaders['query'].dataset
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    rng = np.random.RandomState(seed)
    idx = np.sort(rng.permutation(len(infos))[:min(num, len(infos))])
    classes = evaluator.classes or [str(c) for c in range(7)]
    labels = dict(expression=[classes[int(infos[i]['gt_label'])] for i in idx],
                  identity=[int(infos[i]['identity']) for i in idx])
    plot_embedding({k: v[idx] for k, v in feats.items()}, labels, out_file, seed=seed)
    return out_file


def run_study(preset: Preset, work_dir: str, data_root: str,
              methods: Sequence[str] = tuple(METHODS), seeds: Optional[Sequence[int]] = None,
              optim: Optional[Dict[str, float]] = None, log: Optional[StudyLog] = None,
              figures: bool = True) -> Dict[str, Any]:
    """Run (or resume) the study and write ``<work_dir>/report.md``.

    Args:
        preset (Preset): Sizes and budgets.
        work_dir (str): Output folder (runs, figures, report); finished runs in it are reused.
        data_root (str): The study's data folder (written when missing, checked otherwise).
        methods (Sequence[str]): Keys of :data:`METHODS` to run.
        seeds (Sequence[int], optional): Defaults to the preset's.
        optim (dict, optional): Optimiser overrides (see :func:`run_config`).
        log (StudyLog, optional): Progress printer.
        figures (bool): Draw the curves and the t-SNE.

    Returns:
        dict: ``table``, ``report`` (path), ``results`` (per method, a list over seeds).
    """
    tic = time.time()
    seeds = list(preset.seeds if seeds is None else seeds)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f'unknown methods {unknown}; known: {list(METHODS)}')
    check_study_manifest(work_dir, preset, data_root, optim)
    log = log or StudyLog(work_dir)
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    log(f'preset {preset.name}: {len(methods)} rows x {len(seeds)} seeds, {preset.iters} '
        f'iterations x batch {preset.batch_size}; load average {load:.1f}')
    data = prepare_data(preset, data_root, log)
    log(f'data: {data_root} (bank {data["identities"]["bank_identities"]} people, test '
        f'{data["identities"]["test_identities"]} other people)')
    evaluator = FrozenEvaluator(data['roots']['rafdb'])
    results: Dict[str, List[Dict[str, Any]]] = {k: [] for k in methods}
    total, i = len(methods) * len(seeds), 0
    for seed in seeds:
        for method in methods:
            i += 1
            res = run_one(method, seed, preset, work_dir, data['roots'], evaluator, optim)
            log(_result_line(i, total, method, seed, res, res.get('skipped', False)))
            results[method].append(res)
    table = summarise_rows(results, evaluator.num_query)
    for line in table_markdown(table, methods, preset.iters, preset.supervised_iters):
        log(line)
    figs: Dict[str, str] = {}
    if figures:
        logs, curves = {}, {}
        for key in methods:
            label = METHODS[key].label
            runs = {r['seed']: r for r in results[key]}
            if seeds[0] in runs and runs[seeds[0]].get('train_log'):
                logs[label] = runs[seeds[0]]['train_log']
            mon = {s: r.get('monitor') or [] for s, r in runs.items()}
            if any(mon.values()):
                curves[label] = mean_curves(mon, MONITOR_KEYS)
        if logs:
            figs['Pre-training losses (seed %d)' % seeds[0]] = plot_losses(
                logs, osp.join(work_dir, 'loss_curves.png'))
        if curves:
            figs['Online monitor: expression vs identity during pre-training (mean over '
                 'seeds)'] = plot_monitor(curves, osp.join(work_dir, 'monitor_curves.png'))
        tsne = tsne_figure(work_dir, methods, seeds[0], data['roots']['rafdb'], evaluator,
                           preset.tsne_samples, osp.join(work_dir, 'tsne.png'))
        if tsne:
            figs[f't-SNE of test features, seed {seeds[0]} (top: expression, bottom: '
                 'identity)'] = tsne
    commands = {'the whole study': study_command(preset.name, work_dir, data_root, methods,
                                                 seeds)}
    for name, cmd in data['commands'].items():
        commands[f'data: {name} (what the study writes)'] = ' '.join(cmd)
    for key in methods:
        res = results[key][0] if results[key] else None
        if res and res.get('config'):
            commands[f'pre-train {METHODS[key].label}, seed {res["seed"]}'] = (
                f'python tools/train.py {res["config"]}')
        if res:
            commands[f'evaluate {METHODS[key].label}, seed {res["seed"]}'] = (
                f'python tools/test.py {EVAL_CONFIG} {res["checkpoint"]} --cfg-options '
                f'test_dataloader.dataset.data_root={data["roots"]["rafdb"]} '
                f'test_cfg.bank_dataloader.dataset.data_root={data["roots"]["rafdb"]}')
    train_secs = sum(r.get('train_seconds') or 0 for rs in results.values() for r in rs
                     if not r.get('skipped'))
    timing = {
        'this launch': f'{(time.time() - tic) / 60:.1f} min (of which pre-training '
                       f'{train_secs / 60:.1f} min; runs done earlier were reused)',
        'load average at the start': f'{load:.1f}',
        'pre-training iterations per minute (mean over seeds)': ', '.join(
            f"{METHODS[k].label} {60 * preset.iters / table[k]['train_seconds']['mean']:.0f}"
            for k in methods if METHODS[k].kind == 'ssl' and 'train_seconds' in table[k]),
    }
    report = write_report(osp.join(work_dir, 'report.md'), preset, methods, table,
                          evaluator.num_query, evaluator.num_bank, data['identities'],
                          commands, figs, timing)
    with open(osp.join(work_dir, 'table.json'), 'w') as f:
        json.dump(table, f, indent=1)
    log(f'report: {report} ({(time.time() - tic) / 60:.1f} min)')
    return dict(table=table, report=report, results=results, figures=figs)
