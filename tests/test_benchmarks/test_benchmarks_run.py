# Copyright (c) mmfer contributors. All rights reserved.
"""The benchmark scripts run on tiny settings and report what they claim to.

Speed is never asserted: these tests check that the scripts run, print their ``BENCH_RESULT``
line with the expected keys and consistent numbers, that the train-step comparison is a fair
one (mmfer's step and the plain-PyTorch loop compute the same loss on the first two steps),
and that ``run_all.py`` parses every script's output.
"""
import importlib.util
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(REPO, 'benchmarks')


def _run(script, *args, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, osp.join(BENCH, script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return proc


def _result(proc) -> dict:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('BENCH_RESULT ')]
    assert len(lines) == 1, proc.stdout[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == lines[0], 'BENCH_RESULT must come last'
    return json.loads(lines[0][len('BENCH_RESULT '):])


def _run_all_module():
    spec = importlib.util.spec_from_file_location('bench_run_all', osp.join(BENCH, 'run_all.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def train_step_run():
    return _run('bench_train_step.py', '--iters', '2', '--batch-size', '2', '--img-size', '64',
                '--threads', '1', '--warmup', '2')


@pytest.fixture(scope='module')
def dataloader_run():
    return _run('bench_dataloader.py', '--num-images', '8', '--img-size', '64')


def test_train_step_same_loss_as_plain_loop(train_step_run):
    r = _result(train_step_run)
    keys = {'benchmark', 'mmfer_ms', 'plain_ms', 'ratio', 'goal', 'loss_first_mmfer',
            'loss_first_plain', 'loss_diff_first', 'loss_diff_second', 'batch_size',
            'img_size', 'threads', 'iters'}
    assert keys <= set(r), sorted(keys - set(r))
    assert (r['benchmark'], r['batch_size'], r['img_size'], r['threads'], r['iters']) == \
        ('train_step', 2, 64, 1, 2)
    # the comparison is only meaningful if both sides compute the same thing
    assert math.isfinite(r['loss_first_mmfer']) and r['loss_first_mmfer'] != 0
    assert abs(r['loss_first_mmfer'] - r['loss_first_plain']) == pytest.approx(
        r['loss_diff_first'], abs=1e-9)
    assert r['loss_diff_first'] < 1e-4
    # step 2 follows one SGD step and one momentum update of the target network on each side
    assert r['loss_diff_second'] < 1e-3
    # BYOL part in [-1 + s_t, 1 + 1] plus a non-negative landmark term
    assert r['loss_first_mmfer'] > -0.4 - 1e-6
    assert r['mmfer_ms'] > 0 and r['plain_ms'] > 0
    assert r['ratio'] == pytest.approx(r['mmfer_ms'] / r['plain_ms'], rel=1e-3)
    out = train_step_run.stdout
    assert 'step 1 loss: mmfer' in out and 'ratio mmfer / plain' in out
    # two interleaved blocks of one iteration each
    assert out.count('  block ') == 2


def test_dataloader_breakdown(dataloader_run):
    r = _result(dataloader_run)
    keys = {'benchmark', 'images_per_s', 'ms_per_image', 'img_size', 'num_images', 'passes',
            'instrumented_ms_per_image', 'breakdown_ms'}
    assert keys <= set(r), sorted(keys - set(r))
    assert (r['benchmark'], r['img_size'], r['num_images'], r['passes']) == \
        ('dataloader', 64, 8, 1)
    assert r['images_per_s'] > 0
    assert r['ms_per_image'] == pytest.approx(1e3 / r['images_per_s'], rel=1e-2)
    b = r['breakdown_ms']
    for stage in ('decode (read + cv2.imdecode)', 'ContraWarpViews', 'x1 pipeline',
                  'x2 pipeline', 'x1: FaceResize', 'x2: RandomResizedCrop',
                  'x3: RandomLocalWarp', 'heatmap encoding (MSRAHeatmap, x1 + x3)',
                  'PackContraWarpInputs', 'dataset overhead (get_data_info, copies)'):
        assert stage in b, (stage, sorted(b))
        assert b[stage] >= 0
    # every stage that does work took time; nested stages add up inside their parent
    for stage in ('decode (read + cv2.imdecode)', 'x1 pipeline', 'x2 pipeline',
                  'x3: RandomLocalWarp', 'heatmap encoding (MSRAHeatmap, x1 + x3)'):
        assert b[stage] > 0, stage
    for view in ('x1', 'x2'):
        subs = sum(v for k, v in b.items() if k.startswith(f'{view}: '))
        assert 0 < subs <= b[f'{view} pipeline'] + 1e-3
    inner = sum(b[k] for k in ('x1 pipeline', 'x2 pipeline', 'x3: RandomLocalWarp',
                               'heatmap encoding (MSRAHeatmap, x1 + x3)',
                               'ContraWarpViews other (copies, checks, weights)'))
    assert inner == pytest.approx(b['ContraWarpViews'], rel=1e-2, abs=2e-3)
    top = sum(b[k] for k in ('decode (read + cv2.imdecode)', 'ContraWarpViews',
                             'PackContraWarpInputs', 'dataset overhead (get_data_info, copies)'))
    assert top == pytest.approx(r['instrumented_ms_per_image'], rel=1e-2, abs=2e-3)
    assert '% total' in dataloader_run.stdout


@pytest.mark.skipif(not osp.exists('/proc/self/clear_refs'), reason='Linux /proc needed')
def test_knn_memory_measurement():
    r = _result(_run('bench_knn.py', '--memory', '--num-train', '20000', '--num-test', '300',
                     '--dim', '64', '--threads', '1'))
    assert (r['benchmark'], r['num_train'], r['num_test'], r['dim']) == \
        ('knn_memory', 20000, 300, 64)
    assert r['inputs_mb'] == round((20000 + 300) * 64 * 4 / 2**20)
    # at least the normalised bank (5 MB) and its similarity block; far below a full matrix
    assert 4 <= r['peak_extra_mb'] < 200


def test_bad_arguments_fail_clearly():
    proc = _run('bench_train_step.py', '--img-size', '16', timeout=60)
    assert proc.returncode != 0 and '--img-size must be >= 32' in proc.stderr
    proc = _run('bench_dataloader.py', '--img-size', '30', timeout=60)
    assert proc.returncode != 0 and '--img-size must be a multiple of 4' in proc.stderr
    proc = _run('bench_knn.py', '--k', '0', timeout=60)
    assert proc.returncode != 0 and '--k must be >= 1' in proc.stderr


def test_run_all_parses_every_script(train_step_run, dataloader_run):
    mod = _run_all_module()
    (row, ) = mod.parse_train_step(train_step_run.stdout)
    r = _result(train_step_run)
    assert f'{r["mmfer_ms"]:.1f} ms/iter' in row['measured']
    assert f'{r["plain_ms"]:.1f} ms/iter' in row['reference']
    assert row['ratio'].startswith(f'{r["ratio"]:.3f}')
    rows = mod.parse_dataloader(dataloader_run.stdout)
    assert rows[0]['measured'].startswith(f'{_result(dataloader_run)["images_per_s"]:.1f}')

    warp = _run('bench_warp.py', '--iters', '20', '--repeats', '1', '--size', '64')
    assert warp.returncode == 0, warp.stdout[-2000:] + warp.stderr[-2000:]
    rows = mod.parse_warp(warp.stdout)
    assert rows[0]['measured'].endswith('warps/s') and rows[0]['ratio'].startswith('speed-up ')
    ours = float(rows[0]['measured'].split()[0])
    plain = float(rows[0]['reference'].split()[0])
    assert ours > 0 and plain > 0

    knn = _run('bench_knn.py', '--quick', '--threads', '1')
    r = _result(knn)
    assert (r['benchmark'], r['num_train'], r['num_test'], r['k']) == ('knn', 3000, 400, 20)
    (run, ) = r['runs']
    ms = run['methods']
    assert run['threads'] == 1 and {'gemm', 'gemm_out', 'mmfer', 'plain', 'sklearn'} <= set(ms)
    assert ('faiss' in ms) == (r['faiss'] is not None)
    # mmfer is exact: the same predictions as scikit-learn's float64 brute force
    assert (ms['mmfer']['identical'], ms['mmfer']['differ']) == (1.0, 0)
    for name in ('plain', 'faiss'):
        if name in ms:  # the float32 references vote on the same neighbours, up to ties
            assert ms[name]['identical'] > 0.95
    assert 0.3 < ms['mmfer']['accuracy'] < 1.0  # neighbours are informative, not trivial
    for row in ms.values():
        assert 0 < row['min_s'] <= row['median_s']
    assert ms['mmfer']['ratio_gemm_min'] == pytest.approx(
        ms['mmfer']['min_s'] / ms['gemm']['min_s'])
    (row, ) = mod.parse_knn(knn.stdout)
    assert row['name'].startswith('knn: k=20 exp (3000x64 / 400 test), 1 thr')
    assert row['measured'] == f'{ms["mmfer"]["min_s"]:.2f} s (mmfer)'
    assert row['ratio'].startswith(f'{ms["mmfer"]["ratio_gemm_min"]:.3f} x gemm')
    assert row['note'].startswith('100.000% identical to scikit-learn')

    text = ('device: cpu, torch threads: 1, config: x.py, weights: random\n'
            'per-image inference_topdown: 4 images in 2.0s = 2.000 images/s\n'
            'batched (batch 8, 1 workers): 16 images in 4.0s = 4.000 images/s\n'
            'speed-up: 2.00x\n'
            'max landmark difference on 4 common images: 0.0001 px (OK: limit 0.5 px)\n')
    (row, ) = mod.parse_landmarks(text)
    assert (row['measured'], row['ratio']) == ('4.00 img/s', 'speed-up 2.00x')
    with pytest.raises(ValueError, match='BENCH_RESULT'):
        mod.parse_train_step('no result here\n')
