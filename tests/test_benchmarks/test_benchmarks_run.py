# Copyright (c) mmfer contributors. All rights reserved.
"""The benchmark scripts run on tiny settings and report what they claim to.

Speed is never asserted: these tests check that the scripts run, print their ``BENCH_RESULT``
line with the expected keys and consistent numbers, that each comparison is a fair one (both
sides compute the same thing: the same training loss as a plain-PyTorch loop, the same
landmarks as mmpose), and that ``run_all.py`` turns every script's output into summary rows
with their references.
"""
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


def _summary_rows(name, text, tmp_path) -> list:
    """``run_all.py --parse NAME FILE``: the summary rows of a saved output."""
    path = tmp_path / f'{name}.txt'
    path.write_text(text)
    proc = _run('run_all.py', '--parse', name, str(path), timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = json.loads(proc.stdout)
    assert rows and all({'name', 'measured', 'reference', 'ratio', 'note'} <= set(r)
                        for r in rows), rows
    return rows


def _stats_ok(st: dict) -> None:
    assert 0 < st['min'] <= st['median'] + 1e-9


@pytest.fixture(scope='module')
def train_step_run():
    return _run('bench_train_step.py', '--iters', '2', '--batch-size', '2', '--img-size', '64',
                '--threads', '1', '--warmup', '2')


@pytest.fixture(scope='module')
def dataloader_run():
    return _run('bench_dataloader.py', '--num-images', '8', '--img-size', '64', '--repeats', '2')


@pytest.fixture(scope='module')
def landmarks_run():
    return _run('bench_landmarks.py', '--tiny', '--random-weights-for-testing', '--num-images',
                '4', '--batch-size', '2', '--repeats', '1')


@pytest.fixture(scope='module')
def gpu_run():
    return _run('bench_gpu.py', '--tiny')


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


def test_dataloader_against_byol_and_breakdown(dataloader_run):
    r = _result(dataloader_run)
    keys = {'benchmark', 'images_per_s', 'ms_per_image', 'img_size', 'num_images', 'passes',
            'repeats', 'instrumented_ms_per_image', 'breakdown_ms', 'goal',
            'ms_per_image_by_pipeline', 'ratio_vs', 'load_average'}
    assert keys <= set(r), sorted(keys - set(r))
    assert (r['benchmark'], r['img_size'], r['num_images'], r['passes'], r['repeats']) == \
        ('dataloader', 64, 8, 1, 2)
    # the references, measured in the same run: mmpretrain's BYOL and mmfer's BYOL baseline
    by = r['ms_per_image_by_pipeline']
    assert set(by) == {'contrawarp (mmfer)', 'byol (mmpretrain)', 'byol (mmfer)'}
    for st in by.values():
        _stats_ok(st)
    assert set(r['ratio_vs']) == {'mmpretrain', 'mmfer'} and r['goal'] == 1.5
    for ref, st in r['ratio_vs'].items():
        _stats_ok(st)  # paired per repeat: between the ratios of the extremes
        lo = by['contrawarp (mmfer)']['min'] / max(by[f'byol ({ref})']['min'],
                                                   by[f'byol ({ref})']['median'])
        assert st['median'] >= 0.5 * lo
    assert r['images_per_s'] > 0
    assert r['ms_per_image'] == pytest.approx(1e3 / r['images_per_s'], rel=1e-2)
    assert r['ms_per_image'] == pytest.approx(by['contrawarp (mmfer)']['median'], rel=1e-2)
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
    out = dataloader_run.stdout
    assert '% total' in out and 'ratio contrawarp / byol (mmpretrain)' in out


@pytest.mark.slow  # ~25 s: five paths + five options of a (64 px) HRNet, the real code paths
def test_landmarks_against_mmpose_and_the_bare_forward(landmarks_run):
    r = _result(landmarks_run)
    assert (r['benchmark'], r['tiny'], r['num_images'], r['batch_size'], r['repeats']) == \
        ('landmarks', True, 4, 2, 1)
    ms = r['ms_per_image']
    assert set(ms) == {'mmfer FaceLandmarkInferencer', 'mmpose batched test_step',
                       'mmpose Pose2DInferencer', 'bare forward (as built)',
                       'bare forward (fused, channels-last)'}
    for st in ms.values():
        _stats_ok(st)
    assert set(r['ratio']) == {'limit', 'mmpose batched test_step', 'mmpose Pose2DInferencer'}
    for st in r['ratio'].values():
        _stats_ok(st)
    assert r['goal_vs_limit'] == 1.15 and r['flip_test'] is True
    # the same landmarks (fp32): mmfer vs mmpose's batched path, and mmpose's two paths
    assert r['max_diff_px'] <= 0.5
    assert all(d <= 0.5 for d in r['diffs_px'].values()), r['diffs_px']
    assert set(r['options']) == {'no Conv+BN fusing', 'no channels-last', 'flip test off',
                                 'bf16 autocast', 'bf16 autocast, flip test off',
                                 'bare forward bf16 (fused, channels-last)'}
    assert all(opt['ms_per_image'] > 0 for opt in r['options'].values())
    for name in ('no Conv+BN fusing', 'no channels-last'):  # fp32: the same landmarks
        assert r['options'][name]['landmark_diff_px'] <= 0.5
    assert 'time ratio mmfer / limit' in landmarks_run.stdout


@pytest.mark.slow  # ~30 s: the four paper models (tiny) through their configs and loaders
def test_gpu_bench_tiny_runs_every_model_both_ways(gpu_run):
    r = _result(gpu_run)
    assert (r['benchmark'], r['device'], r['tiny'], r['amp']) == ('gpu', 'cpu', True, False)
    rows = r['rows']
    assert [(x['method'], x['mode']) for x in rows] == [
        (m, mode) for m in ('contrawarp-byol', 'byol', 'sslfer', 'emoco')
        for mode in ('model', 'loader')]
    paper = {'contrawarp-byol': 512, 'byol': 512, 'sslfer': 64, 'emoco': 64}
    for x in rows:
        assert x['paper_batch'] == paper[x['method']] and x['batch'] == 4
        assert x['images_per_s'] == pytest.approx(4e3 / x['ms_per_iter'], rel=0.02)
        assert 0 < x['ms_per_iter_min'] <= x['ms_per_iter'] and x['peak_mb'] > 0
        if x['mode'] == 'loader':
            assert 0 <= x['wait_ms_per_iter'] < x['ms_per_iter']
            model = next(m for m in rows if m['method'] == x['method'] and m['mode'] == 'model')
            assert x['vs_model'] == pytest.approx(x['ms_per_iter'] / model['ms_per_iter'],
                                                  rel=0.01)
            assert isinstance(x['dataloader_bound'], bool)
    assert '| method | mode |' in gpu_run.stdout


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
    proc = _run('bench_gpu.py', '--device', 'cpu', '--amp', timeout=60)
    assert proc.returncode != 0 and '--amp needs a GPU' in proc.stderr
    proc = _run('bench_landmarks.py', '--batch-size', '0', timeout=60)
    assert proc.returncode != 0 and '--batch-size must be >= 1' in proc.stderr


def test_run_all_summarises_every_script(train_step_run, dataloader_run, landmarks_run,
                                         gpu_run, tmp_path):
    (row, ) = _summary_rows('train_step', train_step_run.stdout, tmp_path)
    r = _result(train_step_run)
    assert f'{r["mmfer_ms"]:.1f} ms/iter' in row['measured']
    assert f'{r["plain_ms"]:.1f} ms/iter' in row['reference']
    assert row['ratio'].startswith(f'{r["ratio"]:.3f}')

    rows = _summary_rows('dataloader', dataloader_run.stdout, tmp_path)
    r = _result(dataloader_run)
    assert [x['reference'].split('(')[-1] for x in rows] == ["mmpretrain's BYOL)",
                                                             "mmfer's BYOL)"]
    assert rows[0]['ratio'].startswith(f'{r["ratio_vs"]["mmpretrain"]["median"]:.3f}')
    assert '(goal <= 1.5)' in rows[0]['ratio']

    rows = _summary_rows('landmarks', landmarks_run.stdout, tmp_path)
    r = _result(landmarks_run)
    assert 'bare forward' in rows[0]['reference']
    assert rows[0]['ratio'].startswith(f'{r["ratio"]["limit"]["median"]:.3f}')
    refs = ' '.join(x['reference'] for x in rows)
    assert 'mmpose batched test_step' in refs and 'mmpose Pose2DInferencer' in refs

    rows = _summary_rows('gpu', gpu_run.stdout, tmp_path)
    assert len(rows) == 4 and all('(model only)' in x['reference'] for x in rows)

    warp = _run('bench_warp.py', '--iters', '20', '--repeats', '1', '--size', '64')
    assert warp.returncode == 0, warp.stdout[-2000:] + warp.stderr[-2000:]
    rows = _summary_rows('warp', warp.stdout, tmp_path)
    assert rows[0]['measured'].endswith('warps/s') and rows[0]['ratio'].startswith('speed-up ')
    assert float(rows[0]['measured'].split()[0]) > 0
    assert float(rows[0]['reference'].split()[0]) > 0

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
    (row, ) = _summary_rows('knn', knn.stdout, tmp_path)
    assert row['name'].startswith('knn: k=20 exp (3000x64 / 400 test), 1 thr')
    assert row['measured'] == f'{ms["mmfer"]["min_s"]:.2f} s (mmfer)'
    assert row['ratio'].startswith(f'{ms["mmfer"]["ratio_gemm_min"]:.3f} x gemm')
    assert row['note'].startswith('100.000% identical to scikit-learn')

    proc = _run('run_all.py', '--parse', 'train_step', str(tmp_path / 'missing.txt'),
                timeout=60)
    assert proc.returncode != 0
    (tmp_path / 'empty.txt').write_text('no result here\n')
    proc = _run('run_all.py', '--parse', 'train_step', str(tmp_path / 'empty.txt'), timeout=60)
    assert proc.returncode != 0 and 'BENCH_RESULT' in proc.stderr


def test_demo_speed_after_rows_and_arguments(tmp_path):
    """bench_demo_speed.py: the study rows train through tools/train.py and their
    per-iteration times are read back (a "before" checkout is not available in tests)."""
    out = tmp_path / 'speed.jsonl'
    r = _result(_run('bench_demo_speed.py', '--after', 'byol', '--iters', '4', '--skip', '1',
                     '--out', str(out)))
    assert r['iters'] == 4 and len(r['rows']) == 1
    row = r['rows'][0]
    assert row['label'].startswith('after: BYOL') and row['batch'] == 64
    assert row['s_per_it'] > 0
    assert math.isclose(row['it_per_min'], 60 / row['s_per_it'], rel_tol=1e-2)
    assert math.isclose(row['img_per_min'], 64 * 60 / row['s_per_it'], rel_tol=1e-2)
    assert [json.loads(line) for line in open(out)] == r['rows']
    proc = _run('bench_demo_speed.py', '--iters', '3', '--skip', '3')
    assert proc.returncode == 2 and '--skip (3) must be below --iters (3)' in proc.stderr
    proc = _run('bench_demo_speed.py', '--before-repo', str(tmp_path))
    assert proc.returncode == 2 and 'a checkout from before the study' in proc.stderr
    proc = _run('bench_demo_speed.py', '--after', 'sslfer', '--iters', '2', '--skip', '1')
    assert proc.returncode == 2 and 'reads videos' in proc.stderr
