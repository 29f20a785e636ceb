#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Run every mmfer benchmark (``make bench``) and print one summary table with references.

Each benchmark script runs as a subprocess (its output is streamed, indented) with small
"quick" settings by default, the sizes stated in the issues with ``--full``, or the CI sizes
with ``--tiny``. Every figure is printed next to its reference, measured in the same run: the
fastest reasonable alternative a user has (mmpretrain's/mmpose's own pipelines and
inferencers, a plain-PyTorch loop, scikit-learn) and, where one exists, the hardware limit
(the bare network forward). The summary comes from the final ``BENCH_RESULT {json}`` line of
the scripts that print one and from the printed lines of ``bench_warp.py`` and
``bench_knn.py``; when a script's output cannot be parsed, its last lines are shown instead.
Nothing is asserted about speed. Exit code 1 when a benchmark fails (non-zero exit or
timeout).

Usage::

    python benchmarks/run_all.py [--full | --tiny] [--only train_step dataloader]
        [--threads 2] [--landmark-checkpoint CKPT] [--json-out results.json] [--quiet]
    python benchmarks/run_all.py --parse landmarks saved_output.txt   # rows of a saved run
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)

# ----------------------------------------------------------------------------- parsers
# Each returns a list of rows: dict(name, measured, reference, ratio, note).
def _num(pattern: str, text: str, group: int = 1) -> float:
    m = re.search(pattern, text, re.M)
    if m is None:
        raise ValueError(f'no line matching {pattern!r}')
    return float(m.group(group))


def bench_result(text: str) -> dict:
    """The JSON of the last ``BENCH_RESULT {...}`` line."""
    lines = [ln for ln in text.splitlines() if ln.startswith('BENCH_RESULT ')]
    if not lines:
        raise ValueError('no BENCH_RESULT line')
    return json.loads(lines[-1][len('BENCH_RESULT '):])


def parse_warp(text: str) -> list:
    ours = _num(r'^local_warp \(ROI-only remap\)\s*:\s*([\d.]+)', text)
    plain = _num(r'^plain numpy \+ cv2\.remap[^:]*:\s*([\d.]+)', text)
    diff = _num(r'^max \|ours - plain\| grey levels\s*:\s*(\d+)', text)
    rows = [dict(name='warp: local_warp 224 px (1 thread)', measured=f'{ours:.0f} warps/s',
                 reference=f'{plain:.0f} warps/s (numpy+remap)',
                 ratio=f'speed-up {ours / plain:.1f}x', note=f'max diff {diff:.0f} grey levels')]
    rw = re.search(r'^RandomLocalWarp \(2 warps \+ 68 pt\)\s*:\s*([\d.]+)', text, re.M)
    if rw:
        rows.append(dict(name='warp: RandomLocalWarp (2 warps + 68 pts)',
                         measured=f'{float(rw.group(1)):.0f} images/s', reference='-',
                         ratio='-', note='best burst'))
    return rows


def parse_knn(text: str) -> list:
    r = bench_result(text)
    size = f'{r["num_train"]}x{r["dim"]} / {r["num_test"]} test'
    rows = []
    for run in r['runs']:
        ms = run['methods']
        refs = [f'gemm {ms["gemm"]["min_s"]:.2f} s']
        refs += [f'{name} {ms[name]["min_s"]:.2f} s' for name in ('plain', 'faiss', 'sklearn')
                 if name in ms]
        others = ', '.join(f'{name} {ms[name]["identical"] * 100:.1f}%'
                           for name in ('plain', 'faiss') if 'identical' in ms.get(name, {}))
        rows.append(dict(name=f'knn: k={r["k"]} {r["weighting"]} ({size}), '
                              f'{run["threads"]} thr',
                         measured=f'{ms["mmfer"]["min_s"]:.2f} s (mmfer)',
                         reference=', '.join(refs),
                         ratio=f'{ms["mmfer"]["ratio_gemm_min"]:.3f} x gemm',
                         note=f'{ms["mmfer"]["identical"] * 100:.3f}% identical to '
                              f'{r["reference"]}' + (f'; {others}' if others else '')))
    return rows


def parse_landmarks(text: str) -> list:
    r = bench_result(text)
    ms = r['ms_per_image']
    ours = ms['mmfer FaceLandmarkInferencer']['median']
    flip = 'flip' if r['flip_test'] else 'no flip'
    size = '64 px tiny' if r.get('tiny') else '256 px'
    name = (f'landmarks: HRNetV2-W18 300W {size}, b{r["batch_size"]}, {flip}, '
            f'{r["threads"]} thr')
    rows = [dict(name=name + ' vs limit', measured=f'{ours:.0f} ms/img (mmfer)',
                 reference=f'{_bare(ms):.0f} ms/img (bare forward)',
                 ratio=f'{r["ratio"]["limit"]["median"]:.3f} (goal <= '
                       f'{r["goal_vs_limit"]:.2f})',
                 note=f'min {r["ratio"]["limit"]["min"]:.3f}; weights {r["weights"]}')]
    for ref in ('mmpose batched test_step', 'mmpose Pose2DInferencer'):
        if ref in r['ratio']:
            rows.append(dict(name=name + f' vs {ref.split()[1]}',
                             measured=f'{ours:.0f} ms/img (mmfer)',
                             reference=f'{ms[ref]["median"]:.0f} ms/img ({ref})',
                             ratio=f'{r["ratio"][ref]["median"]:.3f} (goal <= 1)',
                             note=f'max diff {r["max_diff_px"]:.4f} px (<= 0.5)'))
    bf16 = r.get('options', {}).get('bf16 autocast')
    if bf16:
        rows.append(dict(name=name.replace(flip, flip + ', bf16 option'),
                         measured=f'{bf16["ms_per_image"]:.0f} ms/img (bf16)',
                         reference=f'{ours:.0f} ms/img (fp32 default)',
                         ratio=f'{bf16["ms_per_image"] / ours:.3f}',
                         note=f'landmark diff {bf16["landmark_diff_px"]:.2f} px vs fp32'))
    return rows


def _bare(ms: dict) -> float:
    return min(v['median'] for k, v in ms.items() if k.startswith('bare forward'))


def parse_gpu(text: str) -> list:
    r = bench_result(text)
    rows = []
    extra = ', '.join(x for x in (f'amp {r["amp_dtype"]}' if r['amp'] else '',
                                  'channels-last' if r['channels_last'] else '') if x)
    for row in r['rows']:
        if row['mode'] != 'loader':
            continue
        model = next((m for m in r['rows'] if m['method'] == row['method']
                      and m['mode'] == 'model'), None)
        rows.append(dict(
            name=f'train {row["label"]}, b{row["batch"]} on {r["device"]}'
                 + (f' ({extra})' if extra else ''),
            measured=f'{row["images_per_s"]:.1f} img/s (loader)',
            reference=f'{model["images_per_s"]:.1f} img/s (model only)' if model else '-',
            ratio=f'{row.get("vs_model", float("nan")):.2f} time',
            note=('dataloader-bound' if row['dataloader_bound'] else 'not dataloader-bound')
            + f'; peak {row["peak_mb"]:.0f} MB'))
    return rows


def parse_train_step(text: str) -> list:
    r = bench_result(text)
    return [dict(name=f'train step: ContraWarp-BYOL R18+LD, b{r["batch_size"]} '
                      f'{r["img_size"]}px, {r["threads"]} thr',
                 measured=f'{r["mmfer_ms"]:.1f} ms/iter (mmfer)',
                 reference=f'{r["plain_ms"]:.1f} ms/iter (plain PyTorch)',
                 ratio=f'{r["ratio"]:.3f} (goal <= {r["goal"]:.2f})',
                 note=f'step-1 loss diff {r["loss_diff_first"]:.1e}')]


def parse_dataloader(text: str) -> list:
    r = bench_result(text)
    stages = {k: v for k, v in r['breakdown_ms'].items()
              if k not in ('ContraWarpViews', 'x1 pipeline', 'x2 pipeline')}
    top = max(stages, key=stages.get)
    share = 100 * stages[top] / r['instrumented_ms_per_image']
    ms = r['ms_per_image_by_pipeline']
    ours = ms['contrawarp (mmfer)']['median']
    rows = []
    for ref, label in (('mmpretrain', "mmpretrain's BYOL"), ('mmfer', "mmfer's BYOL")):
        if ref not in r['ratio_vs']:
            continue
        ratio = r['ratio_vs'][ref]
        goal = f' (goal <= {r["goal"]:.1f})' if ref == 'mmpretrain' else ''
        rows.append(dict(
            name=f'dataloader: ContraWarping 3 views + heatmaps vs {label} 2 views, '
                 f'{r["img_size"]} px, 1 worker',
            measured=f'{ours:.1f} ms/img',
            reference=f'{ms[f"byol ({ref})"]["median"]:.1f} ms/img ({label})',
            ratio=f'{ratio["median"]:.3f}{goal}',
            note=f'min {ratio["min"]:.3f}; largest stage: {top} ({share:.0f}%)'))
    if 'loader_images_per_s' in r:
        expected = r['images_per_s'] * r['loader_workers']
        rows.append(dict(name=f'dataloader: DataLoader, {r["loader_workers"]} workers',
                         measured=f'{r["loader_images_per_s"]:.1f} img/s',
                         reference=f'{expected:.1f} img/s (workers x 1-process rate)',
                         ratio=f'{r["loader_images_per_s"] / expected:.2f}',
                         note='start-up included'))
    return rows


def parse_threads(text: str) -> list:
    r = bench_result(text)
    rows = []
    for key in sorted({(x['width'], x['batch'], x['workers']) for x in r['rows']}):
        sub = sorted((x for x in r['rows'] if (x['width'], x['batch'], x['workers']) == key),
                     key=lambda x: x['s_per_iter'])
        best, worst = sub[0], sub[-1]
        rows.append(dict(name=f'threads: BYOL R18 width {key[0]}, b{key[1]}, {key[2]} workers',
                         measured=f'{best["s_per_iter"]:.2f} s/iter ({best["threads"]} thr)',
                         reference=f'{worst["s_per_iter"]:.2f} s/iter ({worst["threads"]} thr)',
                         ratio=f'{worst["s_per_iter"] / best["s_per_iter"]:.2f}x',
                         note=f'auto picks {best["auto_threads"]}; load {best["load_before"]}'))
    return rows


def parse_synthetic(text: str) -> list:
    r = bench_result(text)
    faces = ', '.join(f'{k} px {v:.0f}/s' for k, v in r['render_faces_per_s'].items())
    return [dict(name='synthetic: render faces', measured=faces, reference='-', ratio='-',
                 note=f'load {r["load_start"]}'),
            dict(name=f'synthetic: datasets {r["img_size"]} px',
                 measured=f'{r["contrawarp_items_per_s"]:.0f} ContraWarp items/s',
                 reference=f'{r["sslfer_items_per_s"]:.0f} SSL-FER items/s', ratio='-',
                 note=f'DataLoader {r["loader_workers"]} workers: '
                      f'{r["loader_images_per_s"]:.0f} img/s')]


def _has_cuda() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def benchmarks(args) -> list:
    """(name, script, argv, parser) for each benchmark, quick, ``--full`` or ``--tiny``."""
    t = str(args.threads)
    lm = (['--checkpoint', args.landmark_checkpoint] if args.landmark_checkpoint
          else ['--random-weights-for-testing'])
    if args.full:
        sizes = dict(
            warp=[],
            knn=['--threads', '1', '2'],
            landmarks=lm,
            train_step=['--threads', t],
            dataloader=['--num-images', '200', '--passes', '2', '--repeats', '5'],
            threads=[],
            synthetic=[],
            # the paper's per-GPU batches need a GPU; without one, the CI sizes
            gpu=[] if _has_cuda() else ['--tiny'])
    elif args.tiny:
        sizes = dict(
            warp=['--iters', '20', '--repeats', '1', '--size', '64'],
            knn=['--num-train', '300', '--num-test', '30', '--dim', '16', '--repeat', '1',
                 '--threads', t],
            landmarks=lm + ['--tiny', '--num-images', '4', '--batch-size', '2', '--repeats',
                            '1'],
            train_step=['--iters', '2', '--batch-size', '2', '--img-size', '64', '--threads',
                        t, '--warmup', '2'],
            dataloader=['--num-images', '8', '--img-size', '64', '--repeats', '2'],
            threads=['--widths', '16', '--batch-sizes', '8', '--iters', '1', '--warmup', '1',
                     '--num-images', '32'],
            synthetic=['--num', '20', '--sizes', '64'],
            gpu=['--tiny'])
    else:
        sizes = dict(
            warp=['--iters', '200', '--repeats', '1'],
            knn=['--quick', '--threads', t],
            landmarks=lm + ['--num-images', '8', '--batch-size', '8', '--repeats', '2'],
            train_step=['--iters', '3', '--warmup', '2', '--batch-size', '8', '--threads', t],
            dataloader=['--num-images', '48', '--repeats', '3'],
            threads=['--widths', '16', '--batch-sizes', '32', '--iters', '3', '--warmup', '1',
                     '--num-images', '200'],
            synthetic=['--num', '100', '--sizes', '64', '112'],
            gpu=['--tiny'])
    return [
        ('warp', 'bench_warp.py', sizes['warp'], parse_warp),
        ('knn', 'bench_knn.py', sizes['knn'], parse_knn),
        ('landmarks', 'bench_landmarks.py', sizes['landmarks'], parse_landmarks),
        ('train_step', 'bench_train_step.py', sizes['train_step'], parse_train_step),
        ('dataloader', 'bench_dataloader.py', sizes['dataloader'], parse_dataloader),
        ('threads', 'bench_threads.py', sizes['threads'], parse_threads),
        ('synthetic', 'bench_synthetic.py', sizes['synthetic'], parse_synthetic),
        ('gpu', 'bench_gpu.py', sizes['gpu'], parse_gpu),
    ]


PARSERS = dict(warp=parse_warp, knn=parse_knn, landmarks=parse_landmarks,
               train_step=parse_train_step, dataloader=parse_dataloader,
               threads=parse_threads, synthetic=parse_synthetic, gpu=parse_gpu)


def run(cmd: list, timeout: float, stream: bool):
    """Run ``cmd`` (cwd: the repo), streaming its output; returns (rc, output, seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    timed_out = []

    def kill():
        timed_out.append(True)
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if stream:
                print('    ' + line, end='', flush=True)
        rc = proc.wait()
    finally:
        timer.cancel()
    if timed_out:
        lines.append(f'(killed after the {timeout:.0f}s timeout)\n')
        rc = 124
    return rc, ''.join(lines), time.perf_counter() - t0


def print_table(rows: list) -> None:
    cols = ('benchmark', 'measured', 'reference', 'ratio', 'note')
    keys = ('name', 'measured', 'reference', 'ratio', 'note')
    widths = [max(len(c), *(len(str(r.get(k, ''))) for r in rows)) for c, k in zip(cols, keys)]
    print('| ' + ' | '.join(c.ljust(w) for c, w in zip(cols, widths)) + ' |')
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for r in rows:
        print('| ' + ' | '.join(str(r.get(k, '')).ljust(w) for k, w in zip(keys, widths))
              + ' |')


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument('--full', action='store_true', help='the sizes stated in the issues')
    size.add_argument('--tiny', action='store_true', help='the CI sizes (seconds each)')
    p.add_argument('--only', nargs='+', default=None, choices=list(PARSERS))
    p.add_argument('--parse', nargs=2, metavar=('NAME', 'FILE'), default=None,
                   help="print the summary rows (JSON) of a benchmark's saved output and exit")
    p.add_argument('--threads', type=int, default=None,
                   help='threads of the train-step and k-NN benchmarks, both sides (default: '
                        '1 quick, 2 with --full)')
    p.add_argument('--landmark-checkpoint', default=None,
                   help='300W HRNetV2-W18 weights for bench_landmarks (default: random '
                        'weights, the same speed)')
    p.add_argument('--timeout', type=float, default=None,
                   help='seconds per benchmark (default 900 quick, 3600 full)')
    p.add_argument('--json-out', default=None, help='also write the rows to this JSON file')
    p.add_argument('--quiet', action='store_true', help="don't stream the scripts' output")
    args = p.parse_args(argv)
    if args.parse:
        name, path = args.parse
        if name not in PARSERS:
            p.error(f'--parse: unknown benchmark {name!r} (one of {sorted(PARSERS)})')
        with open(path) as f:
            print(json.dumps(PARSERS[name](f.read())))
        return 0
    timeout = args.timeout or (3600 if args.full else 900)
    if args.threads is None:
        args.threads = 2 if args.full else 1

    rows, failed = [], []
    mode = 'full' if args.full else 'tiny' if args.tiny else \
        'quick (use --full for the stated sizes)'
    print(f'mmfer benchmarks, {mode}; {os.cpu_count()} CPUs', flush=True)
    for name, script, extra, parser in benchmarks(args):
        if args.only and name not in args.only:
            continue
        cmd = [sys.executable, osp.join(HERE, script), *extra]
        print(f'\n=== {name}: {" ".join(cmd[1:])}', flush=True)
        rc, out, secs = run(cmd, timeout, not args.quiet)
        if rc != 0:
            failed.append(name)
            tail = ' / '.join(ln.strip() for ln in out.strip().splitlines()[-2:])
            rows.append(dict(name=name, measured=f'FAILED (exit {rc})', reference='-',
                             ratio='-', note=tail[-160:]))
            continue
        try:
            found = parser(out)
        except (ValueError, KeyError, AttributeError, json.JSONDecodeError) as e:
            tail = ' / '.join(ln.strip() for ln in out.strip().splitlines()[-3:])
            found = [dict(name=name, measured='(unparsed)', reference='-', ratio='-',
                          note=f'{e}; last lines: {tail[-200:]}')]
        for r in found:
            r['seconds'] = round(secs, 1)
        rows.extend(found)

    print(f'\nSummary ({mode}):')
    print_table(rows)
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump(rows, f, indent=2)
    if failed:
        print(f'FAILED: {", ".join(failed)}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
