# Copyright (c) mmfer contributors. All rights reserved.
"""Benchmark ``mmfer.evaluation.knn_predict`` against scikit-learn's brute-force k-NN.

Reference (measured in the same run, same thread count):
``KNeighborsClassifier(n_neighbors=k, algorithm='brute', metric='cosine',
weights=<'uniform' | lambda d: exp((1 - d) / T)>)`` on float64 features.

Prints, for every weighting: agreement of predictions (must be 100%: knn_predict is exact),
wall times (minimum of ``--repeat`` interleaved runs) and the speed ratio sklearn / mmfer.
Default problem: 50k x 512 train, 10k test
random Gaussian features, 7 classes (vote ties are frequent with ``uniform``).

Usage::

    python benchmarks/bench_knn.py [--num-train 50000] [--num-test 10000] [--dim 512]
        [--k 20] [--threads 1] [--weighting exp uniform] [--approx-dtype float32]
"""
import argparse
import os
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--num-train', type=int, default=50000)
    p.add_argument('--num-test', type=int, default=10000)
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--num-classes', type=int, default=7)
    p.add_argument('--k', type=int, default=20)
    p.add_argument('--temperature', type=float, default=0.07)
    p.add_argument('--threads', type=int, default=1, help='threads for BOTH methods')
    p.add_argument('--weighting', nargs='+', default=['exp', 'uniform'])
    p.add_argument('--approx-dtype', nargs='+', default=['float32'],
                   help='candidate-search dtypes of knn_predict to time (float32, bfloat16)')
    p.add_argument('--repeat', type=int, default=2,
                   help='timing runs per method, interleaved; the minimum is reported')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def main():
    args = parse_args()
    for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch
    from sklearn.neighbors import KNeighborsClassifier
    from threadpoolctl import threadpool_limits

    from mmfer.evaluation import knn_predict
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(args.seed)
    train = rng.standard_normal((args.num_train, args.dim))
    test = rng.standard_normal((args.num_test, args.dim))
    labels = rng.integers(0, args.num_classes, args.num_train)
    print(f'train {train.shape}, test {test.shape}, k={args.k}, T={args.temperature}, '
          f'{args.num_classes} classes, threads={args.threads} (CPU: {os.cpu_count()} cores)')
    rows = []
    for weighting in args.weighting:
        t = args.temperature
        weights = 'uniform' if weighting == 'uniform' else (lambda d: np.exp((1.0 - d) / t))
        clf = KNeighborsClassifier(n_neighbors=args.k, algorithm='brute', metric='cosine',
                                   weights=weights)
        train_t = torch.from_numpy(train)
        test_t = torch.from_numpy(test)
        labels_t = torch.from_numpy(labels)
        with threadpool_limits(limits=args.threads):
            clf.fit(train, labels)
            t_ref, t_ours = float('inf'), {n: float('inf') for n in args.approx_dtype}
            preds = {}
            for _ in range(args.repeat):  # interleaved, so load changes hit both methods
                tic = time.perf_counter()
                ref = clf.predict(test)
                t_ref = min(t_ref, time.perf_counter() - tic)
                for name in args.approx_dtype:
                    tic = time.perf_counter()
                    preds[name] = knn_predict(train_t, labels_t, test_t, args.k, temperature=t,
                                              weighting=weighting,
                                              approx_dtype=getattr(torch, name))
                    t_ours[name] = min(t_ours[name], time.perf_counter() - tic)
        for name in args.approx_dtype:
            pred = preds[name].numpy()
            agree = float((pred == ref).mean())
            rows.append((weighting, name, t_ref, t_ours[name], t_ref / t_ours[name], agree,
                         int((pred != ref).sum())))
            print(f'{weighting:8s} {name:9s} sklearn {t_ref:8.2f}s  mmfer {t_ours[name]:7.2f}s  '
                  f'speed-up x{t_ref / t_ours[name]:6.2f}  identical {agree * 100:.3f}% '
                  f'({rows[-1][-1]} differ)', flush=True)
    print('\n| weighting | approx dtype | sklearn (s) | mmfer (s) | speed-up | identical |')
    print('|---|---|---|---|---|---|')
    for w, n, tr, to, r, a, _ in rows:
        print(f'| {w} | {n} | {tr:.2f} | {to:.2f} | {r:.2f}x | {a * 100:.3f}% |')


if __name__ == '__main__':
    main()
