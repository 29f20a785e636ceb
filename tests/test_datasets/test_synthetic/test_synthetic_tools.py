# Copyright (c) mmfer contributors. All rights reserved.
"""tools/misc synthetic-face tools, run as subprocesses on tiny sizes."""
import json
import os
import subprocess
import sys

import cv2


def _run(args, cwd, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_make_synthetic_faces_all_formats(tmp_path, repo_root):
    out = _run(['tools/misc/make_synthetic_faces.py', str(tmp_path), '--format', 'all',
                '--num', '12', '--image-size', '32', '--no-progress'], repo_root)
    for fmt in ('folder', 'rafdb', 'affectnet', 'fer2013', 'affwild2', 'voxceleb'):
        assert f'[{fmt}] wrote' in out
    assert len(os.listdir(tmp_path / 'folder' / 'images')) == 12
    lines = (tmp_path / 'rafdb' / 'EmoLabel' / 'list_patition_label.txt').read_text()
    assert len(lines.splitlines()) == 12                      # 10 train + 2 test
    assert cv2.imread(str(tmp_path / 'rafdb' / 'Image' / 'aligned' /
                          'train_00001_aligned.jpg')).shape == (32, 32, 3)
    lists = tmp_path / 'affectnet' / 'Manually_Annotated_file_lists'
    assert len((lists / 'training.csv').read_text().splitlines()) == 1 + 10
    assert len((lists / 'validation.csv').read_text().splitlines()) == 1 + 2
    assert len((tmp_path / 'fer2013' / 'fer2013.csv').read_text().splitlines()) == 13
    videos = os.listdir(tmp_path / 'affwild2' / 'cropped_aligned')
    assert len(videos) == 3 and any(v.endswith('_left') for v in videos)
    assert os.path.isfile(tmp_path / 'voxceleb' / 'id10001' / 'vid_000' / '00001.jpg')
    assert os.path.isfile(tmp_path / 'voxceleb' / 'landmarks.npz')


def test_make_synthetic_faces_rejects_bad_args(tmp_path, repo_root):
    proc = subprocess.run([sys.executable, 'tools/misc/make_synthetic_faces.py', str(tmp_path),
                           '--format', 'celeba'], cwd=repo_root, capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'celeba'" in proc.stderr


def test_show_synthetic_faces(tmp_path, repo_root):
    png = tmp_path / 'grid.png'
    out = _run(['tools/misc/show_synthetic_faces.py', '--out', str(png), '--num', '16',
                '--image-size', '32', '--zoom', '1'], repo_root)
    assert 'saved' in out
    grid = cv2.imread(str(png))
    # 8 expression rows x 2 identity columns of 32 px, plus the 110 px label column
    assert grid.shape == (8 * 32, 110 + 2 * 32, 3)
    assert grid[:, 110:].std() > 20


def test_synthetic_supervised_baseline_runs(tmp_path, repo_root):
    res_file = tmp_path / 'res.json'
    out = _run(['tools/misc/synthetic_supervised_baseline.py', '--num-train', '48',
                '--num-test', '48', '--num-identities', '6', '--image-size', '32',
                '--epochs', '1', '--batch-size', '16', '--out', str(res_file)], repo_root)
    assert 'synthetic supervised baseline' in out
    res = json.loads(res_file.read_text())
    assert res['epochs'] == 1 and res['num_train'] == 48 and res['chance'] == 0.125
    assert res['steps'] == res['total_steps'] == 3                  # 48 images / batch 16
    for k in ('expression_acc_seen_ids', 'expression_acc_unseen_ids', 'train_acc'):
        assert 0.0 <= res[k] <= 1.0
    lk = res['leakage']
    lo, hi = lk['chance_95_interval']
    assert lo < 0.125 < hi and lk['chi2_dof'] > 0 and 0.0 <= lk['chi2_p_value'] <= 1.0
    # identity and expression are drawn independently: no leakage beyond chance
    assert lk['at_chance'] and lk['identity_to_expression_acc'] <= hi
