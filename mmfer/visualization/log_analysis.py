# Copyright (c) mmfer contributors. All rights reserved.
"""Read mmengine's scalar logs (``vis_data/scalars.json``), merge resumed runs, plot curves
and summarise training time (``tools/analysis_tools/analyze_logs.py``).

mmengine writes one ``<work_dir>/<timestamp>/vis_data/scalars.json`` per launch: one JSON
object per line, training rows (``lr``, ``loss*``, ``time``, ``data_time``, ``step`` = the
global iteration) and validation rows (the metrics, ``step`` = the epoch or iteration). A
run resumed from a checkpoint is a new launch that repeats the steps after that checkpoint;
:func:`load_scalars` merges the launches in time order, the later one winning a repeated step.
"""
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

SCALARS_FILE = osp.join('vis_data', 'scalars.json')


def find_scalar_files(path: str) -> List[str]:
    """The ``scalars.json`` files of a work dir (one per launch, oldest first) or the file.

    Raises:
        FileNotFoundError: ``path`` is neither such a file nor a folder holding one.
    """
    if osp.isfile(path):
        return [path]
    if osp.isfile(osp.join(path, SCALARS_FILE)):  # a <timestamp> folder
        return [osp.join(path, SCALARS_FILE)]
    files = sorted(glob.glob(osp.join(path, '*', SCALARS_FILE)))
    if not files:
        raise FileNotFoundError(f'no {SCALARS_FILE} under {path} (expected '
                                f'{path}/<timestamp>/{SCALARS_FILE}, written by mmengine\'s '
                                'LocalVisBackend)')
    return files


def _is_train_row(row: dict) -> bool:
    return any(k == 'lr' or k.startswith('loss') or k.endswith('_lr') for k in row)


def read_scalar_file(path: str) -> List[dict]:
    """The rows of one ``scalars.json``; a malformed line raises naming file and line."""
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{lineno}: not a JSON object ({e.msg})') from None
            if not isinstance(row, dict) or 'step' not in row:
                raise ValueError(f'{path}:{lineno}: expected a JSON object with "step"')
            rows.append(row)
    return rows


def load_scalars(path: str) -> Dict[str, List[dict]]:
    """Training and validation rows of a work dir, resumed launches merged.

    Args:
        path (str): A work dir, a ``<timestamp>`` folder or a ``scalars.json`` file.

    Returns:
        dict: ``train`` and ``val`` lists of rows sorted by ``step``; each row also has
        ``run`` (the index of the launch it comes from).
    """
    merged: Dict[str, Dict[int, dict]] = dict(train={}, val={})
    for run, file in enumerate(find_scalar_files(path)):
        for row in read_scalar_file(file):
            kind = 'train' if _is_train_row(row) else 'val'
            merged[kind][row['step']] = dict(row, run=run)
    return {k: [v[s] for s in sorted(v)] for k, v in merged.items()}


def cal_train_time(rows: Sequence[dict]) -> Dict[str, float]:
    """Iteration-time summary of training rows (``time``: seconds per iteration, smoothed by
    mmengine over its logging window).

    Returns:
        dict: ``iters`` (last step), ``mean``/``std``/``min``/``max`` seconds per iteration
        over the logged rows, ``mean_data_time`` and ``total_hours`` (mean x iterations).
    """
    times = np.array([r['time'] for r in rows if 'time' in r], np.float64)
    if times.size == 0:
        raise ValueError('no "time" in the training rows (were they written by LoggerHook?)')
    data = np.array([r['data_time'] for r in rows if 'data_time' in r], np.float64)
    iters = int(max(r['step'] for r in rows))
    return dict(iters=iters, mean=float(times.mean()), std=float(times.std()),
                min=float(times.min()), max=float(times.max()),
                mean_data_time=float(data.mean()) if data.size else float('nan'),
                total_hours=float(times.mean() * iters / 3600))


def plot_curves(logs: Mapping[str, Sequence[dict]], keys: Sequence[str], out_file: str,
                title: str = '') -> Tuple[str, int]:
    """One panel per key, one curve per run (x: ``step``); a PNG (matplotlib, Agg).

    Returns:
        tuple: ``(out_file, number of curves drawn)``.

    Raises:
        ValueError: none of ``keys`` is in any run (the message lists the keys there are).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(keys), squeeze=False, figsize=(5.5 * len(keys), 4))
    curves = 0
    for ax, key in zip(axes[0], keys):
        for label, rows in logs.items():
            pts = [(r['step'], r[key]) for r in rows if key in r]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, label=label, marker='o' if len(pts) < 20 else None)
                curves += 1
        ax.set_xlabel('step')
        ax.set_title(key)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if curves == 0:
        plt.close(fig)
        known = sorted({k for rows in logs.values() for r in rows for k in r} -
                       {'step', 'run'})
        raise ValueError(f'none of the keys {list(keys)} is logged; logged keys: {known}')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=110)
    plt.close(fig)
    return out_file, curves
