# Copyright (c) mmfer contributors. All rights reserved.
"""Speed of ContraWarping's local warp (Eq. (1)) on one core, and the warps it draws.

Prints warps/s of :func:`mmfer.datasets.transforms.local_warp` (ROI-only remap) and of a plain
whole-image numpy + ``cv2.remap`` implementation of Eq. (1) written here, measured in the same
run on the same random parameters (the paper's distributions), their ratio, and the time of the
whole ``RandomLocalWarp`` transform (2 warps + 68 landmarks) per image. Then, for both readings
of the paper's "strength" (``strength_mode='denominator'``, the default, and ``'step'``), the
distribution of ``|m - c|²`` and of the largest displacement ``q(c) |m - c|`` (at the centre)
over ``--iters`` draws at ``--size`` px.

Usage (with mmfer importable, e.g. ``PYTHONPATH=. python ...`` in a checkout)::

    python benchmarks/bench_warp.py [--size 224] [--iters 2000] [--repeats 3] [--burst 20]

Each speed is given twice: the rate of the fastest burst of ``--burst`` calls (one core's
speed when nothing else is scheduled on it) and the sustained rate over the whole run (lower
on a shared, loaded machine); the load average is printed with them.
"""
import argparse
import os
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def plain_warp(img: np.ndarray, c, m, r, strength=100.) -> np.ndarray:
    """Reference: Eq. (1) (K0 = 100 / strength) over the whole image with numpy + cv2.remap."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vx, vy = m[0] - c[0], m[1] - c[1]
    d2 = (xx - c[0])**2 + (yy - c[1])**2
    t = np.maximum(r * r - d2, 0)
    q = (t / (t + 100. / strength * (vx * vx + vy * vy)))**2
    map_x = (xx - q * vx).astype(np.float32)
    map_y = (yy - q * vy).astype(np.float32)
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def rates(fn, params, burst):
    """(best, sustained) calls/s over bursts of ``burst`` calls cycling through ``params``.

    ``best`` is from the fastest burst: the speed of one core when nothing else runs on it
    (short bursts dodge time slices lost to other processes on a shared machine);
    ``sustained`` is calls / total time of the whole run.
    """
    times = []
    for k in range(0, len(params), burst):
        chunk = params[k:k + burst]
        t0 = time.perf_counter()
        for p in chunk:
            fn(*p)
        times.append((time.perf_counter() - t0) / len(chunk))
    return 1.0 / min(times), len(times) / sum(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--iters', type=int, default=2000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--burst', type=int, default=20)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    from mmfer.datasets.transforms import (RandomLocalWarp, local_warp, sample_warp_params,
                                           warp_points)

    face = SyntheticFaceGenerator(image_size=args.size, seed=0).render(identity=0, seed=0)
    img = face['img']
    rng = np.random.default_rng(0)
    params = [(img, *sample_warp_params(rng, img.shape[:2])) for _ in range(args.iters)]

    diff = max(np.abs(local_warp(*p).astype(int) - plain_warp(*p).astype(int)).max()
               for p in params[:50])
    ours = rates(local_warp, params * args.repeats, args.burst)
    plain = rates(plain_warp, params[:max(50, args.iters // 10)] * args.repeats, args.burst)
    kp = face['keypoints']
    pts = rates(lambda _i, c, m, r, st: warp_points(kp, c, m, r, st), params[:500], args.burst)
    t = RandomLocalWarp(num_warps=2, seed=0)

    def rw(*_):
        t(dict(img=img, gt_keypoints=kp))

    rw_rate = rates(rw, params[:500], args.burst)

    shape = 'x'.join(map(str, img.shape))
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print(f'image {shape} uint8, 1 thread (cv2.setNumThreads(1), OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS")}), {os.cpu_count()} CPUs, load average '
          f'{load:.1f}; best burst of {args.burst} calls / sustained over the run')
    print(f'local_warp (ROI-only remap)      : {ours[0]:8.0f} / {ours[1]:8.0f} warps/s '
          f'({1e3 / ours[0]:.3f} ms best)')
    print(f'plain numpy + cv2.remap (Eq. 1)  : {plain[0]:8.0f} / {plain[1]:8.0f} warps/s '
          f'({1e3 / plain[0]:.3f} ms best)')
    print(f'speed-up vs plain                : {ours[0] / plain[0]:8.1f} / '
          f'{ours[1] / plain[1]:8.1f} x')
    print(f'max |ours - plain| grey levels   : {diff:8d}')
    print(f'warp_points (68 landmarks)       : {pts[0]:8.0f} / {pts[1]:8.0f} calls/s '
          f'({1e3 / pts[0]:.3f} ms best)')
    print(f'RandomLocalWarp (2 warps + 68 pt): {rw_rate[0]:8.0f} / {rw_rate[1]:8.0f} images/s '
          f'({1e3 / rw_rate[0]:.3f} ms best)')
    target = 5000
    print(f'target >= {target} warps/s (best)  : {"met" if ours[0] >= target else "NOT met"}')
    for mode in ('denominator', 'step'):
        step_sq, disp = displacements(args.size, args.iters, mode)
        print(f'strength_mode={mode!r:13s}: |m-c|^2 min/median/max {step_sq.min():.0f} / '
              f'{np.median(step_sq):.0f} / {step_sq.max():.0f} px^2, largest displacement '
              f'q(c)|m-c| {disp.min():.1f} / {np.median(disp):.1f} / {disp.max():.1f} px '
              f'({args.iters} draws at {args.size} px)')


def displacements(size: int, iters: int, mode: str):
    """|m - c|² and q(c) |m - c| (the displacement at the centre, the largest of the warp) of
    ``iters`` warps drawn by ``sample_warp_params`` at ``size`` px with seed 0."""
    from mmfer.datasets.transforms import sample_warp_params
    rng = np.random.default_rng(0)
    step_sq, disp = [], []
    for _ in range(iters):
        c, m, r, strength = sample_warp_params(rng, (size, size), strength_mode=mode)
        s = (m[0] - c[0])**2 + (m[1] - c[1])**2
        step_sq.append(s)
        disp.append((r * r / (r * r + 100. / strength * s))**2 * np.sqrt(s))
    return np.array(step_sq), np.array(disp)


if __name__ == '__main__':
    main()
