#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Plot training / validation curves and summarise iteration time from mmengine's logs.

    python tools/analysis_tools/analyze_logs.py plot_curve WORK_DIR [WORK_DIR ...] \\
        --keys loss lr --out curves.png [--legend a b] [--val]
    python tools/analysis_tools/analyze_logs.py cal_train_time WORK_DIR [WORK_DIR ...]

A WORK_DIR holds one ``<timestamp>/vis_data/scalars.json`` per launch; resumed launches are
merged (the later one wins a repeated step). ``--val`` plots the validation rows (metrics);
a ``<timestamp>`` folder or a ``scalars.json`` file works too.
"""
import argparse
import os.path as osp

from mmfer.visualization.log_analysis import cal_train_time, load_scalars, plot_curves


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Analyse mmengine scalar logs')
    sub = p.add_subparsers(dest='task', required=True)
    curve = sub.add_parser('plot_curve', help='plot scalars against the step')
    curve.add_argument('logs', nargs='+', help='work dirs / scalars.json files')
    curve.add_argument('--keys', nargs='+', default=['loss'])
    curve.add_argument('--val', action='store_true', help='plot the validation rows')
    curve.add_argument('--legend', nargs='+', help='one label per log (default: folder)')
    curve.add_argument('--title', default='')
    curve.add_argument('--out', required=True, help='output PNG')
    time = sub.add_parser('cal_train_time', help='seconds per iteration')
    time.add_argument('logs', nargs='+', help='work dirs / scalars.json files')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    loaded = [load_scalars(path) for path in args.logs]
    if args.task == 'cal_train_time':
        for path, log in zip(args.logs, loaded):
            t = cal_train_time(log['train'])
            print(f'{path}: {t["iters"]} iterations, {t["mean"]:.4f} s/iter (std '
                  f'{t["std"]:.4f}, slowest {t["max"]:.4f}, fastest {t["min"]:.4f}), data '
                  f'{t["mean_data_time"]:.4f} s/iter, ~{t["total_hours"]:.2f} h in total')
        return
    legend = args.legend or [osp.basename(osp.normpath(p)) for p in args.logs]
    if len(legend) != len(args.logs):
        raise SystemExit(f'--legend needs {len(args.logs)} labels, got {len(legend)}')
    kind = 'val' if args.val else 'train'
    out, n = plot_curves({lbl: log[kind] for lbl, log in zip(legend, loaded)}, args.keys,
                         args.out, args.title)
    print(f'wrote {out} ({n} curves)')


if __name__ == '__main__':
    main()
