# Copyright (c) mmfer contributors. All rights reserved.
"""mmfer.apis.ssl_study at the tiny preset: data checks, the evaluator = tools/test.py, the
statistics and the reading, one end-to-end study that resumes."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mmfer.apis.ssl_study import (EVAL_CONFIG, METHODS, PRESETS, FrozenEvaluator,
                                  StudyDataError, binomial_se, check_identity_disjoint,
                                  compare, data_plan, parse_point, prepare_data,
                                  random_init_checkpoint, run_config, run_one, run_study,
                                  summarise, summarise_rows, tool_command, train_in_process)
from mmfer.apis.ssl_study.report import reading

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = PRESETS['tiny']


# ------------------------------------------------------------------------------------- data
def test_data_is_identity_disjoint_and_people_differ(ssl_study_tiny_data):
    ids = check_identity_disjoint(ssl_study_tiny_data['roots']['rafdb'])
    assert ids == ssl_study_tiny_data['identities']
    assert ids['bank_identities'] >= 2 and ids['test_identities'] >= 2
    plan = data_plan(TINY)
    # pre-training and evaluation people come from different generator seeds
    assert plan['pretrain']['seed'] == plan['videos']['seed'] != plan['rafdb']['seed']


def test_study_data_equals_the_tools_output(ssl_study_tiny_data, tmp_path):
    """The commands in the report write exactly the study's files."""
    root = ssl_study_tiny_data['roots']['rafdb']
    cmd = tool_command(str(tmp_path / 'rafdb'), data_plan(TINY)['rafdb'])
    cmd[0] = sys.executable
    proc = subprocess.run(cmd + ['--no-progress'], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=REPO), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for rel in ('meta.csv', 'EmoLabel/list_patition_label.txt'):
        with open(osp.join(root, rel)) as a, open(osp.join(tmp_path, 'rafdb', rel)) as b:
            assert a.read() == b.read(), rel


def test_foreign_or_changed_data_is_never_reused(ssl_study_tiny_data, tmp_path):
    from mmfer.datasets.synthetic import write_rafdb
    old = tmp_path / 'demo'
    write_rafdb(str(old / 'rafdb'), num_train=20, num_test=8, image_size=32, seed=1,
                num_identities=6, identity_split='shared')
    with pytest.raises(StudyDataError, match='has no ssl_study_data.json'):
        prepare_data(TINY, str(old), log=lambda m: None)
    with pytest.raises(StudyDataError, match='appear in both the train split'):
        check_identity_disjoint(str(old / 'rafdb'))
    changed = tmp_path / 'changed'
    shutil.copytree(ssl_study_tiny_data['root'], changed)
    import dataclasses
    with pytest.raises(StudyDataError, match='written with other parameters'):
        prepare_data(dataclasses.replace(TINY, eval_images=64), str(changed),
                     log=lambda m: None)
    # the same parameters: reused, nothing rewritten
    out = prepare_data(TINY, str(changed), log=lambda m: None)
    assert out['written'] == []


# ------------------------------------------------------------------------------- evaluation
def test_evaluator_equals_tools_test(ssl_study_tiny_data, tmp_path):
    """The in-process evaluation gives tools/test.py's numbers for the same checkpoint."""
    rafdb = ssl_study_tiny_data['roots']['rafdb']
    ckpt = random_init_checkpoint(3, str(tmp_path / 'init.pth'))
    metrics, query = FrozenEvaluator(rafdb).evaluate(ckpt)
    out = tmp_path / 'flat.json'
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', EVAL_CONFIG, ckpt, '--work-dir', str(tmp_path / 'w'),
         '--out', str(out), '--quiet', '--cfg-options',
         f'test_dataloader.dataset.data_root={rafdb}',
         f'test_cfg.bank_dataloader.dataset.data_root={rafdb}'],
        cwd=REPO, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO),
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    ref = json.loads(out.read_text())
    for key in ('knn/k=10/accuracy', 'knn/k=30/accuracy', 'linear/accuracy',
                'linear/weight_decay', 'identity_nn/accuracy', 'feature_rank/effective_rank'):
        assert metrics[key] == pytest.approx(ref[key], abs=1e-6), key
    assert metrics['linear/selection'] == 'validation'
    assert query['feats'].shape == (metrics['num_query'], 128)


def test_statistics():
    assert binomial_se(50.0, 100) == pytest.approx(5.0)
    assert binomial_se(30.0, 600) == pytest.approx(100 * np.sqrt(0.3 * 0.7 / 600))
    s = summarise([10.0, 12.0, 14.0])
    assert s == dict(mean=12.0, sd=2.0, n=3)
    assert summarise([5.0]) == dict(mean=5.0, sd=0.0, n=1)
    runs = {'random_init': [dict(metrics={'linear/accuracy': 30.0}, train_seconds=None)],
            'byol': [dict(metrics={'linear/accuracy': v}, train_seconds=10.0)
                     for v in (40.0, 42.0, 44.0)]}
    table = summarise_rows(runs, 400)
    assert table['byol']['linear/accuracy']['se'] == pytest.approx(binomial_se(42.0, 400))
    c = compare(table, 'byol', 'random_init', 'linear/accuracy', 400)
    assert c['diff'] == pytest.approx(12.0)
    assert c['se'] == pytest.approx(binomial_se(42.0, 400))   # the larger SE of the two
    assert c['z'] == pytest.approx(12.0 / binomial_se(42.0, 400))


def test_reading_states_the_verdicts_from_the_numbers():
    def row(knn, lin):
        return {'knn/k=10/accuracy': dict(mean=knn, sd=1.0, n=3),
                'linear/accuracy': dict(mean=lin, sd=1.0, n=3)}
    table = dict(random_init=row(20.0, 30.0), supervised=row(80.0, 85.0),
                 byol=row(20.5, 40.0), cw_byol_rw_landmark_ld=row(20.0, 30.5),
                 sslfer=row(10.0, 30.0))
    text = '\n'.join(reading(table, list(table), 600))
    assert ('BYOL: k-NN@10 +0.5 points (+0.3 SE): within 2 SE of random init; linear +10.0 '
            'points' in text) and 'beats random init beyond 2 SE' in text
    assert 'Beyond 2 SE above random init: BYOL (linear).' in text
    assert 'SSL-FER (TimeAug + HardNeg): k-NN@10 -10.0 points' in text
    assert 'below random init beyond 2 SE' in text
    assert 'ContraWarping-BYOL (RW† + LD): k-NN@10 -0.5' in text and 'worse beyond 2 SE' in text
    assert 'supervised network of the same architecture reaches 85.0 %' in text


def test_parse_point():
    assert parse_point('lr=0.1,batch_size=32') == dict(lr=0.1, batch_size=32)
    with pytest.raises(ValueError, match='keys in'):
        parse_point('learning_rate=0.1')
    with pytest.raises(ValueError, match='needs a number'):
        parse_point('lr=fast')


# ------------------------------------------------------------------------------- the study
@pytest.mark.slow  # five tiny pre-trainings and evaluations in one process: ~40 s on 2 cores
def test_tiny_study_end_to_end_resumes(ssl_study_tiny_data, tmp_path):
    work = str(tmp_path / 'study')
    methods = ['random_init', 'supervised', 'byol', 'cw_byol_rw_landmark_ld', 'sslfer']
    lines = []
    out = run_study(TINY, work, ssl_study_tiny_data['root'], methods=methods,
                    log=lines.append)
    table = out['table']
    assert set(table) == set(methods)
    assert table['random_init']['linear/accuracy']['n'] == 1
    for key in methods:
        res = out['results'][key][0]
        assert osp.isfile(osp.join(work, 'runs', key, 'seed0', 'result.json'))
        assert 0 <= res['metrics']['knn/k=10/accuracy'] <= 100
        if key != 'random_init':
            assert res['iters'] == (TINY.supervised_iters if key == 'supervised' else TINY.iters)
            assert [r['step'] for r in res['monitor']] == [0, 2, 4]   # the online monitor
            assert res['train_seconds'] > 0 and res['train_cpu_seconds'] > 0
    report = open(out['report']).read()
    for m in methods:
        assert f'| {METHODS[m].label} |' in report
    assert '## Reading' in report and 'Beyond 2 SE above random init' in report
    for png in ('loss_curves.png', 'monitor_curves.png', 'tsne.png'):
        assert osp.getsize(osp.join(work, png)) > 10_000 and f']({png})' in report
    assert f'python tools/train.py {work}/runs/byol/seed0/config.py' in report
    assert f'python tools/test.py {EVAL_CONFIG}' in report
    assert 'tools/misc/make_synthetic_faces.py' in report
    # a second launch reuses every finished run
    ckpt = out['results']['byol'][0]['checkpoint']
    mtime = os.path.getmtime(ckpt)
    lines2 = []
    run_study(TINY, work, ssl_study_tiny_data['root'], methods=methods, log=lines2.append,
              figures=False)
    assert sum('done earlier' in line for line in lines2) == len(methods)
    assert os.path.getmtime(ckpt) == mtime
    # another setting in the same work dir is refused
    import dataclasses
    with pytest.raises(ValueError, match='another study setting'):
        run_study(dataclasses.replace(TINY, iters=6), work, ssl_study_tiny_data['root'],
                  methods=methods, log=lines2.append)


def test_an_interrupted_run_resumes_from_its_checkpoint(ssl_study_tiny_data, tmp_path):
    """A run killed after its first checkpoint continues from it (not from scratch)."""
    from mmengine.hooks import Hook

    from mmfer.registry import HOOKS

    @HOOKS.register_module(force=True)
    class _StopAt3(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if runner.iter + 1 == 3:
                raise KeyboardInterrupt('simulated kill')

    work = str(tmp_path / 'byol' / 'seed0')
    cfg = run_config(METHODS['byol'].config, TINY, 0, work,
                     ssl_study_tiny_data['roots']['pretrain'], iters=4)
    stop = cfg.copy()
    stop.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='_StopAt3')]
    with pytest.raises(KeyboardInterrupt):
        train_in_process(stop)
    assert osp.isfile(osp.join(work, 'iter_2.pth')) and not osp.isfile(osp.join(work,
                                                                                'iter_4.pth'))
    ckpt, _, _ = train_in_process(cfg)
    assert ckpt.endswith('iter_4.pth')
    logs = sorted(os.listdir(work))
    launches = [d for d in logs if osp.isdir(osp.join(work, d)) and d[:2] == '20']
    assert len(launches) == 2
    second = open(osp.join(work, launches[1], f'{launches[1]}.log')).read()
    assert 'resumed' in second.lower() and 'iter_2.pth' in second


def test_run_one_random_init_row(ssl_study_tiny_data, tmp_path):
    ev = FrozenEvaluator(ssl_study_tiny_data['roots']['rafdb'])
    res = run_one('random_init', 1, TINY, str(tmp_path), ssl_study_tiny_data['roots'], ev)
    assert res['train_seconds'] is None and res['iters'] == 0
    again = run_one('random_init', 1, TINY, str(tmp_path), ssl_study_tiny_data['roots'], ev)
    assert again['skipped'] and again['metrics'] == res['metrics']


def test_gpu_preset_configs_build_and_scale(ssl_study_tiny_data, tmp_path):
    """The gpu preset (never run here: no GPU) builds every run with its sizes; a scaled-down
    copy of it trains on CPU."""
    import dataclasses

    from mmfer.apis.ssl_study import supervised_run_config
    from mmfer.registry import MODELS
    gpu = PRESETS['gpu']
    assert gpu.iters * gpu.batch_size >= 100 * gpu.pretrain_images   # >= 100 epochs
    assert gpu.pretrain_images > PRESETS['cpu'].pretrain_images
    assert gpu.eval_images > PRESETS['cpu'].eval_images
    roots = ssl_study_tiny_data['roots']
    for key, m in METHODS.items():
        if m.kind != 'ssl':
            continue
        cfg = run_config(m.config, gpu, 0, str(tmp_path / key), roots['pretrain'])
        assert cfg.train_cfg.max_iters == 1600 and cfg.train_dataloader.batch_size == 256
        assert cfg.train_dataloader.num_workers == 15
        assert cfg.param_scheduler[1].end == 1600 and cfg.param_scheduler[0].end == 80
        MODELS.build(cfg.model)
    sup = supervised_run_config(gpu, 0, str(tmp_path / 'sup'), roots['rafdb'])
    assert sup.train_cfg.max_iters == gpu.supervised_iters
    small = dataclasses.replace(gpu, iters=2, batch_size=4, warmup_iters=1, workers=0,
                                checkpoint_interval=2)
    cfg = run_config(METHODS['cw_byol_rw_landmark_ld'].config, small, 0,
                     str(tmp_path / 'small'), roots['pretrain'])
    ckpt, _, _ = train_in_process(cfg)
    assert ckpt.endswith('iter_2.pth')
