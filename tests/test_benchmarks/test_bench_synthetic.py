# Copyright (c) mmfer contributors. All rights reserved.
"""bench_synthetic.py and bench_threads.py run on tiny settings and report what they claim."""
import json
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(REPO, 'benchmarks')


def _result(script, *args, timeout=400) -> tuple:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, osp.join(BENCH, script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith('BENCH_RESULT '), proc.stdout[-2000:]
    return json.loads(last[len('BENCH_RESULT '):]), proc.stdout


def _summary_rows(name, text, tmp_path) -> list:
    """``run_all.py --parse NAME FILE``: the summary rows of a saved output."""
    path = tmp_path / f'{name}.txt'
    path.write_text(text)
    proc = subprocess.run([sys.executable, osp.join(BENCH, 'run_all.py'), '--parse', name,
                           str(path)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_bench_synthetic_reports_every_stage(tmp_path):
    r, out = _result('bench_synthetic.py', '--num', '4', '--sizes', '32', '48', '--img-size',
                     '32', '--workers', '1', '--batch-size', '2')
    assert set(r['render_faces_per_s']) == {'32', '48'}
    for key in ('still_items_per_s', 'contrawarp_items_per_s', 'video_frame_loads_per_s',
                'sslfer_items_per_s', 'loader_images_per_s'):
        assert r[key] > 0, key
    assert r['loader_workers'] == 1 and r['num'] == 4 and r['load_start'] >= 0
    assert 'render  32 px:' in out
    rows = _summary_rows('synthetic', out, tmp_path)
    assert rows[0]['measured'].startswith('32 px ') and 'items/s' in rows[1]['measured']


def test_bench_threads_reports_the_grid_and_load(tmp_path):
    r, out = _result('bench_threads.py', '--widths', '8', '--batch-sizes', '4', '--threads',
                     '1', '2', '--workers', '0', '1', '--iters', '1', '--warmup', '0',
                     '--num-images', '8', '--img-size', '32')
    assert r['cpus'] >= 1 and 'load average' in r['uptime_start'] + r['uptime_end']
    grid = {(x['threads'], x['workers']) for x in r['rows']}
    assert grid == {(1, 0), (1, 1), (2, 0), (2, 1)}
    from mmfer.utils import choose_num_threads
    for x in r['rows']:
        assert x['s_per_iter'] > 0 and (x['width'], x['batch']) == (8, 4)
        assert x['auto_threads'] == choose_num_threads(x['workers'], r['cpus'],
                                                       load=x['load_before'])
    assert '| 8 | 4 | 1 | 2 |' in out                  # the markdown table
    rows = _summary_rows('threads', out, tmp_path)
    assert len(rows) == 2 and rows[0]['name'].startswith('threads: BYOL R18 width 8, b4')
