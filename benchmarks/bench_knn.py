# Copyright (c) mmfer contributors. All rights reserved.
"""Benchmark ``mmfer.evaluation.knn_predict`` against the hardware limit and the fastest
references, all measured in the same run at the same thread count.

References, timed interleaved with mmfer (A/B/A/B...), ``--repeat`` times each:

- ``gemm``: the bare float32 matrix product ``torch.mm(queries, bank.T)`` of the same shapes
  on pre-normalised inputs, one call (the limit the issue names; it writes the whole
  ``M x N`` similarity matrix into fresh memory);
- ``gemm_out``: the same product into a preallocated, already-touched output (the compute
  floor without memory allocation; context);
- ``plain``: the usual 15 lines: normalise in float32, ``mm`` -> ``topk(k)`` -> weighted vote,
  by chunks of 1024 queries;
- ``faiss``: ``faiss.IndexFlatIP`` on the normalised float32 vectors (``search(k)``) + the same
  vote, when ``faiss-cpu`` is installed (``pip install -r requirements/benchmarks.txt``);
- ``sklearn``: ``KNeighborsClassifier(algorithm='brute', metric='cosine')`` on float64 features,
  the float64 reference the predictions are compared with (timed once; context).

Features: a synthetic 7-class Gaussian mixture, ReLU'd, float32 (like CNN features; neighbours
are not trivially separated). Printed per thread count: min and median wall time of each
method, mmfer's ratio to ``gemm`` (min/min and the median of the per-repeat ratios), and the
share of predictions each method has in common with the float64 reference (mmfer must be
100%: it is exact). The load average is printed at the start and the end: on a shared machine
quote it with the numbers. A final ``BENCH_RESULT {json}`` line summarises the run.

``--memory`` instead measures the peak resident-memory growth of one ``knn_predict`` call
(Linux: the peak is reset through ``/proc/self/clear_refs`` after the data are made).

Usage::

    python benchmarks/bench_knn.py [--num-train 50000] [--num-test 10000] [--dim 512] [--k 20]
        [--threads 1 2] [--repeat 3] [--weighting exp] [--no-sklearn] [--quick]
    python benchmarks/bench_knn.py --memory --num-train 1000000 --num-test 10000 --threads 2
"""
import argparse
import datetime
import json
import os
import statistics
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--num-train', type=int, default=50000)
    p.add_argument('--num-test', type=int, default=10000)
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--num-classes', type=int, default=7)
    p.add_argument('--k', type=int, default=20)
    p.add_argument('--temperature', type=float, default=0.07)
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2],
                   help='thread counts, each used by every method in turn')
    p.add_argument('--weighting', default='exp', choices=['exp', 'uniform'])
    p.add_argument('--repeat', type=int, default=3,
                   help='interleaved timing runs of each method (sklearn: once)')
    p.add_argument('--no-sklearn', action='store_true',
                   help='skip scikit-learn (slow at full size); mmfer is then compared with '
                   'its own float64 brute force on the first 500 queries')
    p.add_argument('--no-faiss', action='store_true', help='skip faiss even if installed')
    p.add_argument('--quick', action='store_true',
                   help='small sizes (3000 x 400, 64 dims), 1 repeat: for tests and make bench')
    p.add_argument('--memory', action='store_true',
                   help='measure the peak RSS growth of one knn_predict call instead')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    if args.quick:
        args.num_train, args.num_test, args.dim, args.repeat = 3000, 400, 64, 1
    for name in ('num_train', 'num_test', 'dim', 'k', 'repeat', 'num_classes'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.k > args.num_train:
        p.error('--k must be <= --num-train')
    return args


def make_features(args):
    """Float32 ReLU'd Gaussian-mixture features: (train, labels, test, test_labels)."""
    import numpy as np
    rng = np.random.default_rng(args.seed)
    centres = rng.standard_normal((args.num_classes, args.dim)).astype(np.float32)

    def draw(n):
        y = rng.integers(0, args.num_classes, n)
        x = 0.35 * centres[y] + rng.standard_normal((n, args.dim), dtype=np.float32)
        return np.maximum(x, 0, out=x), y

    train, labels = draw(args.num_train)
    test, test_labels = draw(args.num_test)
    return train, labels, test, test_labels


def vote(sims, idx, labels, num_classes, weighting, temperature):
    """The weighted vote of neighbours ``idx`` with similarities ``sims``: (M,) labels."""
    import torch
    sims = sims.double()
    w = torch.exp(sims / temperature) if weighting == 'exp' else torch.ones_like(sims)
    votes = torch.zeros(sims.shape[0], num_classes, dtype=torch.float64)
    votes.scatter_add_(1, labels[idx], w)
    return votes.argmax(1)


def plain_knn(train, labels, test, k, num_classes, weighting, temperature, chunk=1024):
    """The usual float32 top-k k-NN: normalise, mm, topk, vote (by chunks of queries)."""
    import torch
    import torch.nn.functional as F
    bank = F.normalize(train, dim=1)
    queries = F.normalize(test, dim=1)
    preds = torch.empty(test.shape[0], dtype=torch.long)
    for s in range(0, test.shape[0], chunk):
        sims, idx = (queries[s:s + chunk] @ bank.T).topk(k, dim=1)
        preds[s:s + chunk] = vote(sims, idx, labels, num_classes, weighting, temperature)
    return preds


def faiss_knn(train_np, labels, test_np, k, num_classes, weighting, temperature):
    """``faiss.IndexFlatIP`` on L2-normalised float32 vectors + the same vote."""
    import faiss
    import numpy as np
    import torch
    bank = np.ascontiguousarray(train_np, dtype=np.float32).copy()
    queries = np.ascontiguousarray(test_np, dtype=np.float32).copy()
    faiss.normalize_L2(bank)
    faiss.normalize_L2(queries)
    index = faiss.IndexFlatIP(bank.shape[1])
    index.add(bank)
    sims, idx = index.search(queries, k)
    return vote(torch.from_numpy(sims), torch.from_numpy(idx), labels, num_classes, weighting,
                temperature)


def exact_reference(train, labels, test, k, num_classes, weighting, temperature):
    """float64 brute force (normalise, full similarity rows, sort): the definition."""
    import torch
    import torch.nn.functional as F
    bank = F.normalize(train.double(), dim=1)
    queries = F.normalize(test.double(), dim=1)
    preds = torch.empty(test.shape[0], dtype=torch.long)
    for s in range(0, test.shape[0], 256):
        sims = queries[s:s + 256] @ bank.T
        # descending similarity, ties to the lower training index (stable sort)
        order = sims.argsort(dim=1, descending=True, stable=True)[:, :k]
        preds[s:s + 256] = vote(sims.gather(1, order), order, labels, num_classes, weighting,
                                temperature)
    return preds


def load():
    return '%.2f %.2f %.2f' % os.getloadavg()


def measure_memory(args):
    """Peak RSS growth (MB) of one knn_predict call, and the inputs' size."""
    import numpy as np
    import torch

    from mmfer.evaluation import knn_predict
    torch.set_num_threads(max(args.threads))
    rng = np.random.default_rng(args.seed)
    train = torch.from_numpy(rng.standard_normal((args.num_train, args.dim), dtype=np.float32))
    test = torch.from_numpy(rng.standard_normal((args.num_test, args.dim), dtype=np.float32))
    labels = torch.from_numpy(rng.integers(0, args.num_classes, args.num_train))

    def status(key):
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024  # kB -> MB
        raise RuntimeError(f'{key} not in /proc/self/status')

    before = status('VmRSS:')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset the peak (VmHWM) to the current RSS
    tic = time.perf_counter()
    knn_predict(train, labels, test, args.k)
    secs = time.perf_counter() - tic
    extra = status('VmHWM:') - before
    inputs = (train.numel() + test.numel()) * 4 / 2**20
    result = dict(benchmark='knn_memory', num_train=args.num_train, num_test=args.num_test,
                  dim=args.dim, k=args.k, threads=max(args.threads), inputs_mb=round(inputs),
                  peak_extra_mb=round(extra), seconds=round(secs, 1), load=load())
    print(f'knn_predict {args.num_train} x {args.num_test} x {args.dim} (float32, k={args.k}):'
          f' inputs {inputs:.0f} MB, peak RSS growth {extra:.0f} MB, {secs:.1f} s '
          f'(load {load()})')
    print('BENCH_RESULT ' + json.dumps(result), flush=True)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', str(max(args.threads)))
    if args.memory:
        return measure_memory(args)
    import numpy as np
    import torch
    import torch.nn.functional as F
    from threadpoolctl import threadpool_limits

    from mmfer.evaluation import knn_predict
    try:
        import faiss
    except ImportError:
        faiss = None
    if args.no_faiss:
        faiss = None

    train_np, labels_np, test_np, test_y = make_features(args)
    train, test = torch.from_numpy(train_np), torch.from_numpy(test_np)
    labels = torch.from_numpy(labels_np)
    k, nc, w, t = args.k, args.num_classes, args.weighting, args.temperature
    print(f'train ({args.num_train}, {args.dim}), test ({args.num_test}, {args.dim}) float32, '
          f'k={k}, {w} weights, T={t}, {nc} classes; CPU: {os.cpu_count()} cores; '
          f'torch {torch.__version__}; faiss {faiss.__version__ if faiss else "not installed"}')
    print(f'start {datetime.datetime.now():%Y-%m-%d %H:%M}, load average {load()}', flush=True)

    bank = F.normalize(train, dim=1)
    queries = F.normalize(test, dim=1)
    out = torch.empty(args.num_test, args.num_train)
    out.zero_()  # touch the pages once
    methods = {
        'gemm': lambda: torch.mm(queries, bank.T),
        'gemm_out': lambda: torch.mm(queries, bank.T, out=out),
        'mmfer': lambda: knn_predict(train, labels, test, k, temperature=t, weighting=w,
                                     num_classes=nc),
        'plain': lambda: plain_knn(train, labels, test, k, nc, w, t),
    }
    if faiss is not None:
        methods['faiss'] = lambda: faiss_knn(train_np, labels, test_np, k, nc, w, t)

    if args.no_sklearn:
        sub = min(500, args.num_test)
        ref = exact_reference(train, labels, test[:sub], k, nc, w, t).numpy()
        ref_name = f'float64 brute force, first {sub} queries'
    else:
        from sklearn.neighbors import KNeighborsClassifier
        weights = 'uniform' if w == 'uniform' else (lambda d: np.exp((1.0 - d) / t))
        clf = KNeighborsClassifier(n_neighbors=k, algorithm='brute', metric='cosine',
                                   weights=weights).fit(train_np.astype(np.float64), labels_np)
        test64 = test_np.astype(np.float64)
        ref = None
        ref_name = 'scikit-learn brute cosine, float64'

    result = dict(benchmark='knn', num_train=args.num_train, num_test=args.num_test,
                  dim=args.dim, k=k, weighting=w, reference=ref_name,
                  faiss=faiss.__version__ if faiss else None, runs=[])
    for threads in args.threads:
        torch.set_num_threads(threads)
        if faiss is not None:
            faiss.omp_set_num_threads(threads)
        times = {name: [] for name in methods}
        preds = {}
        with threadpool_limits(limits=threads):
            if ref is None:
                tic = time.perf_counter()
                ref = clf.predict(test64)
                times['sklearn'] = [time.perf_counter() - tic]
            for _ in range(args.repeat):  # interleaved: load changes hit every method
                for name, fn in methods.items():
                    tic = time.perf_counter()
                    res = fn()
                    times[name].append(time.perf_counter() - tic)
                    if name not in ('gemm', 'gemm_out'):
                        preds[name] = res.numpy()
                    del res
        run = dict(threads=threads, load=load(), methods={})
        print(f'\n{threads} thread(s), load average {run["load"]} '
              f'(agreement with {ref_name}):')
        for name, ts in times.items():
            row = dict(min_s=min(ts), median_s=statistics.median(ts))
            if name in preds:
                agree = preds[name][:len(ref)] == ref
                row.update(identical=float(agree.mean()), differ=int((~agree).sum()))
            if name == 'mmfer':
                row['accuracy'] = float((preds[name] == test_y).mean())
            run['methods'][name] = row
        g = run['methods']['gemm']
        for name, row in run['methods'].items():
            pair = [a / b for a, b in zip(times[name], times['gemm'])]
            row['ratio_gemm_min'] = row['min_s'] / g['min_s']
            row['ratio_gemm_median'] = statistics.median(pair) if len(pair) == len(
                times['gemm']) else row['median_s'] / g['median_s']
            same = (f'identical {row["identical"] * 100:7.3f}% ({row["differ"]} differ)'
                    if 'identical' in row else '')
            print(f'  {name:9s} min {row["min_s"]:8.3f}s  median {row["median_s"]:8.3f}s  '
                  f'x gemm {row["ratio_gemm_min"]:6.3f} (median {row["ratio_gemm_median"]:6.3f})'
                  f'  {same}', flush=True)
        result['runs'].append(run)

    print(f'\nend {datetime.datetime.now():%Y-%m-%d %H:%M}, load average {load()}')
    names = list(result['runs'][0]['methods'])
    print('\n| threads | ' + ' | '.join(names) + ' | mmfer / gemm | mmfer identical |')
    print('|---' * (len(names) + 3) + '|')
    for run in result['runs']:
        ms = run['methods']
        cells = [f'{ms[n]["min_s"]:.2f} / {ms[n]["median_s"]:.2f}' if n in ms else '-'
                 for n in names]
        print(f'| {run["threads"]} | ' + ' | '.join(cells) +
              f' | {ms["mmfer"]["ratio_gemm_min"]:.3f} / {ms["mmfer"]["ratio_gemm_median"]:.3f}'
              f' | {ms["mmfer"]["identical"] * 100:.3f}% |')
    print('(seconds: min / median of the runs; ratio: min / min and median of paired ratios)')
    print('BENCH_RESULT ' + json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
