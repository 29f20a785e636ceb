# Copyright (c) mmfer contributors. All rights reserved.
"""tools/misc synthetic-face tools, run as subprocesses on tiny sizes."""
import csv
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


ALL_FORMATS = ('folder', 'rafdb', 'affectnet', 'fer2013', 'affwild2', 'voxceleb', 'fec', 'ms1m',
               'bp4d', 'disfa', 'gft', 'lfw')


def test_make_synthetic_faces_all_formats(tmp_path, repo_root):
    out = _run(['tools/misc/make_synthetic_faces.py', str(tmp_path), '--format', 'all',
                '--num', '12', '--image-size', '32'], repo_root)
    for fmt in ALL_FORMATS:
        assert f'[{fmt}] wrote' in out
    # the configs' data roots (data/<folder>); no .partial folder left
    folders = {'folder': 'synthetic_faces', 'ms1m': 'faces_emore'}
    assert sorted(os.listdir(tmp_path)) == sorted(folders.get(f, f) for f in ALL_FORMATS)
    # progress into a pipe: whole lines, never one growing carriage-return line
    assert '\r' not in out and '12/12 (100%)' in out
    assert len(os.listdir(tmp_path / 'synthetic_faces' / 'images')) == 12
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
    assert os.path.isfile(tmp_path / 'voxceleb' / 'frames' / 'id10001' / 'vid_000' / '00001.jpg')
    assert os.path.isfile(tmp_path / 'voxceleb' / 'landmarks.npz')
    # rafdb: bank and test people disjoint by default
    with open(tmp_path / 'rafdb' / 'meta.csv') as f:
        rows = list(csv.DictReader(f))
    people = {s: {r['identity'] for r in rows if f'/{s}_' in r['img_path']}
              for s in ('train', 'test')}
    assert people['train'] and people['test'] and not people['train'] & people['test']
    assert len((tmp_path / 'fec' / 'annotations' / 'train.csv').read_text().splitlines()) == 4
    for name in ('train.rec', 'train.idx', 'property', 'landmarks.npz'):
        assert os.path.isfile(tmp_path / 'faces_emore' / name)
    assert os.path.isfile(tmp_path / 'bp4d' / 'AUCoding' / 'F001_T1.csv')
    assert os.path.isfile(tmp_path / 'disfa' / 'ActionUnit_Labels' / 'SN001' / 'SN001_au1.txt')
    assert os.path.isfile(tmp_path / 'gft' / 'AU_labels' / '001A.csv')
    assert os.path.isfile(tmp_path / 'lfw' / 'pairs.txt')


def test_make_synthetic_faces_refuses_a_non_empty_folder(tmp_path, repo_root):
    out_root = tmp_path / 'faces'
    (out_root / 'images').mkdir(parents=True)
    (out_root / 'images' / 'stale_999999.jpg').write_bytes(b'old')
    cmd = [sys.executable, 'tools/misc/make_synthetic_faces.py', str(out_root), '--num', '3',
           '--image-size', '32']
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True)
    assert proc.returncode == 2
    assert f'output folder {out_root} is not empty' in proc.stderr and '--overwrite' in \
        proc.stderr
    assert os.listdir(out_root / 'images') == ['stale_999999.jpg']      # nothing written
    _run(cmd[1:] + ['--overwrite', '--no-progress'], repo_root)
    assert sorted(os.listdir(out_root / 'images')) == ['000000.jpg', '000001.jpg',
                                                       '000002.jpg']
    # --format all checks every format folder before writing any
    (tmp_path / 'all' / 'lfw').mkdir(parents=True)
    (tmp_path / 'all' / 'lfw' / 'x').write_text('x')
    proc = subprocess.run(cmd[:2] + [str(tmp_path / 'all'), '--format', 'all', '--num', '3'],
                          cwd=repo_root, capture_output=True, text=True)
    assert proc.returncode == 2 and os.listdir(tmp_path / 'all') == ['lfw']


def test_au_layouts_convert_with_the_converters(tmp_path, repo_root):
    """The raw BP4D / DISFA / GFT layouts go through tools/dataset_converters unchanged."""
    from mmfer.datasets.synthetic import write_bp4d, write_disfa, write_gft
    infos = dict(bp4d=write_bp4d(str(tmp_path / 'bp4d'), num_subjects=3, tasks_per_subject=2,
                                 frames_per_task=6, image_size=32, seed=1),
                 disfa=write_disfa(str(tmp_path / 'disfa'), num_subjects=3,
                                   frames_per_subject=8, image_size=32, seed=1),
                 gft=write_gft(str(tmp_path / 'gft'), num_participants=4, frames_per_video=5,
                               image_size=32, seed=1))
    for name, info in infos.items():
        lists = tmp_path / f'{name}_lists'
        out = _run([f'tools/dataset_converters/{name}.py', info['label_root'], str(lists),
                    '--img-root', info['img_root']], repo_root, timeout=120)
        assert '0 frames skipped for a missing image' in out, out
        lines = (lists / 'all.txt').read_text().splitlines()
        assert lines[0].split() == ['path'] + info['aus']
        assert len(lines) - 1 == info['num_frames']
        rows = [ln.split() for ln in lines[1:]]
        assert all(os.path.isfile(os.path.join(info['img_root'], r[0])) for r in rows)
        vals = {v for r in rows for v in r[1:]}
        assert vals <= {'0', '1', '9'} and {'0', '1'} <= vals      # both classes occur
        folds = json.loads((lists / 'folds.json').read_text())['folds']
        assert len(folds) == 3 and sum(len(f) for f in folds) == len(
            info.get('subjects', info.get('videos')))
        for k in (1, 2, 3):
            test = (lists / f'fold{k}_test.txt').read_text().splitlines()[1:]
            train = (lists / f'fold{k}_train.txt').read_text().splitlines()[1:]
            assert test and train and len(test) + len(train) == info['num_frames']
    # the labels are the writer's: DISFA intensity >= 2 is a positive
    disfa = tmp_path / 'disfa'
    inten = (disfa / 'ActionUnit_Labels' / 'SN002' / 'SN002_au12.txt').read_text().split()
    rows = {r.split()[0]: r.split() for r in
            (tmp_path / 'disfa_lists' / 'all.txt').read_text().splitlines()[1:]}
    col = infos['disfa']['aus'].index('AU12') + 1
    for line in inten:
        frame, v = map(int, line.split(','))
        assert rows[f'SN002/{frame:05d}.jpg'][col] == ('1' if v >= 2 else '0')


def test_lfw_layout_runs_fr_knn_lfw(tmp_path, repo_root):
    """The LFW layout and pairs.txt work with tools/misc/fr_knn_lfw.py (random weights)."""
    import torch

    from mmfer.datasets.synthetic import write_lfw
    from mmfer.registry import MODELS
    lfw = tmp_path / 'lfw'
    write_lfw(str(lfw), num=40, image_size=64, seed=0, num_identities=4, num_folds=1,
              max_pairs=6)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text("model = dict(backbone=dict(type='ResNet', depth=18))\n")
    backbone = MODELS.build(dict(type='ResNet', depth=18))
    torch.save({'state_dict': {'backbone.' + k: v for k, v in backbone.state_dict().items()}},
               tmp_path / 'ckpt.pth')
    metrics = tmp_path / 'metrics.json'
    out = _run(['tools/misc/fr_knn_lfw.py', str(cfg), str(tmp_path / 'ckpt.pth'),
                '--lfw-root', str(lfw), '--pairs', str(lfw / 'pairs.txt'), '--min-faces', '2',
                '--img-size', '32', '--k', '1', '--num-workers', '0', '--out', str(metrics)],
               repo_root)
    res = json.loads(metrics.read_text())
    assert res['num_pairs'] == 12 and 0 <= res['verification_acc'] <= 100
    assert res['num_identities'] >= 2 and 0 <= res['knn_top1/k1'] <= 100, out


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
