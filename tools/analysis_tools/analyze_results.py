#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Per-class errors and the worst cases of a prediction dump.

Example::

    python tools/test.py configs/contrawarp/benchmarks/resnet18_1xb64-coslr-40e_rafdb.py CKPT \\
        --dump work_dirs/rafdb_preds.pth
    python tools/analysis_tools/analyze_results.py work_dirs/rafdb_preds.pth \\
        --out-dir work_dirs/rafdb_analysis --topk 24

Writes ``<out-dir>/per_class.csv`` (support, recall = per-class accuracy, precision, F1 and
the class each is most often mistaken for; per-AU F1 for AU models), ``worst_cases.csv`` and
``worst_cases.png`` (the ``--topk`` wrong predictions made with the highest confidence, or the
largest valence/arousal errors, each face titled ``gt -> pred score``), and prints the table
(as mmpretrain's ``tools/analysis_tools/analyze_results.py``, over
:mod:`mmfer.evaluation.prediction_analysis`).
"""
import argparse
import csv
import os
import os.path as osp
import sys


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Per-class errors and worst cases of a '
                                'prediction dump (tools/test.py --dump)')
    p.add_argument('dump', help='.pth file of tools/test.py --dump')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--topk', type=int, default=16, help='worst cases shown')
    p.add_argument('--cols', type=int, default=8, help='columns of the worst-case grid')
    p.add_argument('--cell', type=int, default=112, help='grid cell size (px)')
    p.add_argument('--au-thr', type=float, default=0.5, help='AU score threshold')
    args = p.parse_args(argv)
    if args.topk < 1 or args.cols < 1 or args.cell < 16:
        p.error('--topk and --cols must be >= 1, --cell >= 16')
    return args


def _write_csv(path, rows):
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import cv2

    from mmfer.evaluation.prediction_analysis import (au_report, class_report,
                                                      load_predictions, prediction_kind,
                                                      va_report, worst_cases)
    from mmfer.visualization import image_grid
    if not osp.isfile(args.dump):
        raise FileNotFoundError(f'prediction dump {args.dump} does not exist')
    preds = load_predictions(args.dump)
    kind = prediction_kind(preds)
    os.makedirs(args.out_dir, exist_ok=True)
    out = dict(kind=kind, num_samples=len(preds['sample_idx']))
    table = osp.join(args.out_dir, 'per_class.csv')
    if kind == 'cls':
        rows = class_report(preds)
        print(f'{"class":<14}{"support":>8}{"recall":>8}{"precision":>10}{"F1":>7}  '
              'most confused with')
        for r in rows:
            print(f'{r["class"]:<14}{r["support"]:>8}{r["recall"]:>8.1f}{r["precision"]:>10.1f}'
                  f'{r["f1"]:>7.1f}  {r["confused_with"]} ({r["confused_count"]})')
    elif kind == 'au':
        rows = au_report(preds, args.au_thr)
        for r in rows:
            print(f'{r["au"]:<8} support {r["support"]:>6}  F1 {r["f1"]:6.1f}')
    else:
        rows = [va_report(preds)]
        print(', '.join(f'{k} {v:.4f}' for k, v in rows[0].items()))
    _write_csv(table, rows)
    out['table'] = table
    if kind != 'au':
        worst = worst_cases(preds, args.topk)
        out['num_worst'] = len(worst)
        if worst:
            _write_csv(osp.join(args.out_dir, 'worst_cases.csv'), worst)
            images, titles = [], []
            for w in worst:
                img = cv2.imread(w['img_path']) if w.get('img_path') else None
                images.append(None if img is None else img[..., ::-1])
                titles.append(f'{w["gt"]} -> {w["pred"]} {w["score"]:.2f}' if kind == 'cls'
                              else f'err {w["error"]:.2f}')
            grid = image_grid(images, titles, cols=args.cols, cell=args.cell)
            png = osp.join(args.out_dir, 'worst_cases.png')
            cv2.imwrite(png, grid[..., ::-1])
            out['grid'] = png
            print(f'worst cases: {png}')
        else:
            print('no wrong prediction: no worst-case grid')
    print(f'table: {table}', flush=True)
    return out


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as e:
        if os.environ.get('MMFER_DEBUG'):
            raise
        sys.exit(f'tools/analysis_tools/analyze_results.py: error: {e}')
