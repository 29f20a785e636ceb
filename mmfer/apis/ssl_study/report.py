# Copyright (c) mmfer contributors. All rights reserved.
"""The study's report: the table (mean ± sd over seeds, binomial SE), the reading of it, the
curves, the t-SNE and the command of every step, as ``report.md`` + PNGs."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .evaluation import TABLE_METRICS, compare
from .presets import METHODS, Preset


def _fmt(cell: Optional[Dict[str, float]], digits: int = 1) -> str:
    if not cell:
        return '–'
    if cell['n'] > 1:
        return f"{cell['mean']:.{digits}f} ± {cell['sd']:.{digits}f}"
    return f"{cell['mean']:.{digits}f}"


def table_markdown(table: Dict[str, Dict[str, Dict[str, float]]], methods: Sequence[str],
                   iters: int, supervised_iters: int) -> List[str]:
    """The result table: one row per method, mean ± sd over seeds; SE of the linear probe."""
    head = ['method'] + [name for _, name in TABLE_METRICS] + [
        'SE (linear)', 'probe wd', 'training / run']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
    for key in methods:
        row = table.get(key)
        if not row:
            continue
        m = METHODS[key]
        cells = [m.label]
        for metric, _ in TABLE_METRICS:
            cells.append(_fmt(row.get(metric), 2 if 'rank' in metric else 1))
        lin = row.get('linear/accuracy')
        cells.append(f"±{lin['se']:.1f}" if lin else '–')
        wd = row.get('linear/weight_decay')
        cells.append('–' if not wd else f"{wd['mean']:.0e}" if wd['sd'] == 0 else 'varies')
        sec = row.get('train_seconds')
        if m.kind == 'random':
            cells.append('none')
        elif sec:
            n = supervised_iters if m.kind == 'supervised' else iters
            cells.append(f"{n} it, {sec['mean']:.0f} s")
        else:
            cells.append('–')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def reading(table: Dict[str, Dict[str, Dict[str, float]]], methods: Sequence[str],
            num_query: int) -> List[str]:
    """What the numbers say, computed from them: SSL vs random init and ContraWarping vs its
    plain family member, on k-NN@10 and the linear probe, in binomial SEs of the test set."""
    out: List[str] = []
    ssl = [k for k in methods if METHODS[k].kind == 'ssl' and k in table]
    if 'random_init' in table:
        beats = []
        for key in ssl:
            parts = []
            for metric, name in (('knn/k=10/accuracy', 'k-NN@10'), ('linear/accuracy',
                                                                     'linear')):
                c = compare(table, key, 'random_init', metric, num_query)
                if c is None:
                    continue
                verdict = ('beats random init beyond 2 SE' if c['z'] > 2 else
                           'below random init beyond 2 SE' if c['z'] < -2 else
                           'within 2 SE of random init')
                parts.append(f"{name} {c['diff']:+.1f} points ({c['z']:+.1f} SE): {verdict}")
                if c['z'] > 2:
                    beats.append(f'{METHODS[key].label} ({name})')
            out.append(f'- {METHODS[key].label}: ' + '; '.join(parts) + '.')
        out.insert(0, '**Self-supervised vs random init** (difference of the seed means; SE = '
                      f'binomial standard error of {num_query} test faces at the larger of the '
                      'two accuracies):')
        out.append('')
        out.append('Beyond 2 SE above random init: ' + (', '.join(beats) if beats else
                                                         '**none**') + '.')
        out.append('')
    for family, plain in (('byol', 'byol'), ('simsiam', 'simsiam')):
        cws = [k for k in ssl if METHODS[k].family == family and k != plain]
        if plain not in table or not cws:
            continue
        out.append(f'**ContraWarping vs {METHODS[plain].label}** (same network, data, '
                   'optimiser and iterations):')
        for key in cws:
            parts = []
            for metric, name in (('knn/k=10/accuracy', 'k-NN@10'), ('linear/accuracy',
                                                                     'linear')):
                c = compare(table, key, plain, metric, num_query)
                if c is None:
                    continue
                verdict = ('better beyond 2 SE' if c['z'] > 2 else
                           'worse beyond 2 SE' if c['z'] < -2 else 'a tie within 2 SE')
                parts.append(f"{name} {c['diff']:+.1f} ({c['z']:+.1f} SE, {verdict})")
            out.append(f'- {METHODS[key].label}: ' + '; '.join(parts) + '.')
        out.append('')
    if 'supervised' in table and 'linear/accuracy' in table['supervised']:
        sup = table['supervised']['linear/accuracy']['mean']
        best = max(ssl, key=lambda k: table[k].get('linear/accuracy', {}).get('mean', -1),
                   default=None)
        if best is not None and 'linear/accuracy' in table[best]:
            out.append(f"**Headroom:** the supervised network of the same architecture reaches "
                       f"{sup:.1f} % (linear), the best self-supervised row "
                       f"{table[best]['linear/accuracy']['mean']:.1f} % "
                       f'({METHODS[best].label}).')
            out.append('')
    ids = {k: table[k]['identity_nn/accuracy']['mean'] for k in methods
           if k in table and 'identity_nn/accuracy' in table[k]}
    if ids:
        out.append('**Identity:** identity 1-NN among the test faces (other people than the '
                   'bank): ' + ', '.join(f'{METHODS[k].label} {v:.1f}' for k, v in ids.items())
                   + '. High values mean the features mostly say who is in the picture.')
        out.append('')
    return out


def mean_curves(runs: Dict[int, List[Dict[str, Any]]], keys: Sequence[str]) -> List[dict]:
    """Rows averaged over seeds at the steps every seed logged (monitor curves)."""
    by_step: Dict[int, Dict[str, List[float]]] = {}
    for rows in runs.values():
        for r in rows:
            for k in keys:
                if k in r:
                    by_step.setdefault(int(r['step']), {}).setdefault(k, []).append(r[k])
    n = len(runs)
    out = []
    for step in sorted(by_step):
        row = {k: float(np.mean(v)) for k, v in by_step[step].items() if len(v) == n}
        if row:
            out.append(dict(row, step=step))
    return out


MONITOR_KEYS = ('monitor/knn/k=10/accuracy', 'monitor/identity_nn/accuracy',
                'monitor/feature_rank/effective_rank')


def plot_monitor(curves: Dict[str, List[dict]], out_file: str) -> str:
    from mmfer.visualization import plot_scalars
    return plot_scalars(curves, [
        dict(keys=[MONITOR_KEYS[0]], title='expression k-NN@10 (test people vs bank people)',
             ylabel='%'),
        dict(keys=[MONITOR_KEYS[1]], title='identity 1-NN (test faces)', ylabel='%'),
        dict(keys=[MONITOR_KEYS[2]], title='effective rank (test features)'),
    ], out_file)


def plot_losses(logs: Dict[str, List[dict]], out_file: str) -> str:
    from mmfer.visualization import plot_scalars
    return plot_scalars(logs, [
        dict(keys=['loss'], title='pre-training loss (each method its own objective)'),
        dict(keys=['sim12', 'sim13'], title='ContraWarping similarities',
             hlines={'s_t = 0.6': 0.6}),
        dict(keys=['loss_lm1', 'loss_lm3'], title='landmark losses (LD)'),
    ], out_file)


def write_report(out_file: str, preset: Preset, methods: Sequence[str],
                 table: Dict[str, Dict[str, Dict[str, float]]], num_query: int, num_bank: int,
                 identities: Dict[str, int], commands: Dict[str, str],
                 figures: Dict[str, str], timing: Dict[str, Any]) -> str:
    """Write ``report.md``."""
    seeds = ', '.join(str(s) for s in preset.seeds)
    lines = [
        f'# mmfer SSL study on synthetic faces (preset `{preset.name}`)', '',
        f'Narrow ResNet-18 (16 base channels, 128-d features) at {preset.image_size} px. '
        f'Pre-training: {preset.iters} iterations × batch {preset.batch_size} per run '
        f'({preset.pretrain_images} unlabeled stills of {preset.pretrain_identities} people; '
        f'SSL-FER: one {preset.frames_per_video / 25:g} s clip per person of '
        f'{preset.video_identities} of them), one optimiser and schedule for every method. '
        f'Evaluation: frozen features of labelled faces of other people (RAF-DB layout, '
        f'7 classes, chance 14.3 %): bank {num_bank} faces of {identities["bank_identities"]} '
        f'people, test {num_query} faces of {identities["test_identities"]} other people '
        '(bank and test share no person); k-NN (cosine, exp(sim/0.07)); a linear probe whose '
        'weight decay is chosen on a validation split of the bank made of whole people; '
        'identity 1-NN and effective rank of the test features. '
        f'Seeds {seeds}: mean ± sd over seeds; SE = binomial standard error of the test size '
        'at the mean accuracy.', '',
    ]
    lines += table_markdown(table, methods, preset.iters, preset.supervised_iters)
    lines += ['', '## Reading', '']
    lines += reading(table, methods, num_query)
    lines += [
        'What this does not show: these are synthetic faces, a narrow network and a budget of '
        f'{preset.iters} iterations; real pre-training runs for days. A method that does not '
        'beat random init here may still do so at the papers\' scale, and one that does may '
        'not transfer to real faces.', '']
    if timing:
        lines += ['## Timing', '']
        lines += [f'- {k}: {v}' for k, v in timing.items()]
        lines.append('')
    for title, png in figures.items():
        lines += [f'## {title}', '', f'![{title}]({osp.basename(png)})', '']
    lines += ['## Commands', '']
    for step, cmd in commands.items():
        lines += [f'- {step}:', f'  `{cmd}`']
    lines.append('')
    with open(out_file, 'w') as f:
        f.write('\n'.join(lines))
    return out_file


__all__ = ['table_markdown', 'reading', 'mean_curves', 'plot_monitor', 'plot_losses',
           'write_report', 'MONITOR_KEYS']
