# Copyright (c) mmfer contributors. All rights reserved.
"""Every writer's files parse back with plain csv/numpy/cv2 into the real datasets' formats."""
import csv
import glob
import os.path as osp
import re

import cv2
import numpy as np

from mmfer.datasets.landmark_io import load_landmarks
from mmfer.datasets.synthetic import EXPRESSION_CLASSES
from mmfer.datasets.synthetic import writers as W

# the official label lists, written out independently of writers.py
RAFDB_OFFICIAL = ['Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness', 'Anger', 'Neutral']
AFFECTNET_OFFICIAL = ['Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust', 'Anger',
                      'Contempt', 'None', 'Uncertain', 'No-Face']
FER_OFFICIAL = ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral']
AFFWILD2_OFFICIAL = ['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness',
                     'Surprise', 'Other']
SYNONYM = {'happy': 'happiness', 'sad': 'sadness', 'angry': 'anger'}


def _ours(name: str) -> str:
    n = name.lower()
    return SYNONYM.get(n, n)


def test_label_tables_match_official_codes():
    for table, official, offset in ((W.RAFDB_LABELS, RAFDB_OFFICIAL, 1),
                                    (W.AFFECTNET_LABELS, AFFECTNET_OFFICIAL[:8], 0),
                                    (W.FER2013_LABELS, FER_OFFICIAL, 0),
                                    (W.AFFWILD2_EXPR_LABELS, AFFWILD2_OFFICIAL[:7], 0)):
        for code, name in enumerate(official):
            assert table[_ours(name)] == code + offset, (name, table)
    assert W.RAFDB_LABELS['contempt'] is None and W.FER2013_LABELS['contempt'] is None
    assert W.AFFWILD2_EXPR_LABELS['contempt'] == 7                 # Other
    assert W.AFFWILD2_EXPR_HEADER.split(',') == AFFWILD2_OFFICIAL
    assert (W.AFFECTNET_NONE, W.AFFECTNET_UNCERTAIN, W.AFFECTNET_NO_FACE) == (8, 9, 10)


def _read_csv(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


def test_face_folder(tmp_path):
    out = W.write_face_folder(str(tmp_path), num=12, image_size=32, seed=0, num_identities=3)
    assert out['num_images'] == 12
    data = np.load(tmp_path / 'landmarks.npz')
    paths = [str(p) for p in data['img_paths']]
    assert paths == [f'images/{i:06d}.jpg' for i in range(12)]
    assert data['keypoints'].shape == (12, 68, 2)
    assert sorted(glob.glob(str(tmp_path / 'images' / '*.jpg'))) == \
        [str(tmp_path / p) for p in paths]
    for p in paths:
        assert cv2.imread(str(tmp_path / p)).shape == (32, 32, 3)
    assert len(load_landmarks(str(tmp_path / 'landmarks.npz'))) == 12
    rows = _read_csv(tmp_path / 'meta.csv')
    assert rows[0][:6] == ['img_path', 'identity', 'video', 'frame', 'gt_label', 'expression']
    assert [r[0] for r in rows[1:]] == paths
    for r in rows[1:]:
        assert 0 <= int(r[1]) < 3 and r[2:4] == ['-1', '-1']
        assert EXPRESSION_CLASSES[int(r[4])] == r[5]


def test_rafdb(tmp_path):
    W.write_rafdb(str(tmp_path), num_train=10, num_test=5, image_size=40, seed=1)
    lines = (tmp_path / 'EmoLabel' / 'list_patition_label.txt').read_text().splitlines()
    assert len(lines) == 15
    assert all(re.fullmatch(r'train_\d{5}\.jpg [1-7]', ln) for ln in lines[:10]), lines[:10]
    assert all(re.fullmatch(r'test_\d{4}\.jpg [1-7]', ln) for ln in lines[10:]), lines[10:]
    assert lines[0].startswith('train_00001.jpg ') and lines[10].startswith('test_0001.jpg ')
    for ln in lines:
        name = ln.split()[0][:-4]
        img = cv2.imread(str(tmp_path / 'Image' / 'aligned' / f'{name}_aligned.jpg'))
        assert img is not None and img.shape == (40, 40, 3), name
    assert len(glob.glob(str(tmp_path / 'Image' / 'aligned' / '*.jpg'))) == 15
    # meta.csv (synthetic extra): one row per image, in label-file order, same expression
    with open(tmp_path / 'meta.csv') as f:
        meta = list(csv.DictReader(f))
    assert [m['img_path'] for m in meta] == [
        f"Image/aligned/{ln.split()[0][:-4]}_aligned.jpg" for ln in lines]
    raf_names = {1: 'surprise', 2: 'fear', 3: 'disgust', 4: 'happiness', 5: 'sadness',
                 6: 'anger', 7: 'neutral'}
    assert [m['expression'] for m in meta] == [raf_names[int(ln.split()[1])] for ln in lines]
    assert all(m['identity'].isdigit() for m in meta)
    # deterministic for a seed
    W.write_rafdb(str(tmp_path / 'again'), num_train=10, num_test=5, image_size=40, seed=1)
    assert (tmp_path / 'again' / 'EmoLabel' / 'list_patition_label.txt').read_text() == \
        '\n'.join(lines) + '\n'


def test_affectnet(tmp_path):
    out = W.write_affectnet(str(tmp_path), num_train=20, num_val=6, image_size=40, seed=0)
    header = ('subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,'
              'expression,valence,arousal')
    for fname, n in (('training.csv', 20), ('validation.csv', 6)):
        rows = _read_csv(tmp_path / 'Manually_Annotated_file_lists' / fname)
        assert ','.join(rows[0]) == header
        assert len(rows) == n + 1
        codes = [int(r[6]) for r in rows[1:]]
        assert all(0 <= c <= 10 for c in codes)
        assert {8, 9, 10} <= set(codes)                   # None / Uncertain / No-Face rows
        assert sum(c >= 8 for c in codes) == out['num_special'][
            'train' if fname == 'training.csv' else 'val']
        for r in rows[1:]:
            assert len(r) == 9
            assert re.fullmatch(r'\d+/[0-9a-f]{40}\.jpg', r[0]), r[0]
            img = cv2.imread(str(tmp_path / 'Manually_Annotated_Images' / r[0]))
            assert img is not None and 40 <= img.shape[0] == img.shape[1] <= 60
            x, y, w, h = map(int, r[1:5])
            assert x >= 0 and y >= 0 and w > 10 and h > 10
            assert x + w <= img.shape[1] and y + h <= img.shape[0]
            lm = np.array([float(v) for v in r[5].split(';')]).reshape(68, 2)
            assert len(r[5].split(';')) == 136
            # the landmarks are inside the face box (in canvas pixels; the box is clipped to
            # the picture, a dropped chin may leave it)
            inside = ((lm[:, 0] >= x - 1) & (lm[:, 0] <= x + w + 1) & (lm[:, 1] >= y - 1)
                      & (lm[:, 1] <= y + h + 1))
            assert inside.mean() > 0.95
            v, a = float(r[7]), float(r[8])
            if int(r[6]) == 10:
                assert v == a == -2.0
            else:
                assert -1 <= v <= 1 and -1 <= a <= 1


def test_fer2013(tmp_path):
    out = W.write_fer2013(str(tmp_path), num=20, seed=0)
    rows = _read_csv(tmp_path / 'fer2013.csv')
    assert rows[0] == ['emotion', 'pixels', 'Usage']
    assert len(rows) == 21
    assert [r[2] for r in rows[1:]] == ['Training'] * 16 + ['PublicTest'] * 2 + \
        ['PrivateTest'] * 2
    assert out['usage'] == {'Training': 16, 'PublicTest': 2, 'PrivateTest': 2}
    for r in rows[1:]:
        assert 0 <= int(r[0]) <= 6
        px = np.array(r[1].split(' '), dtype=np.int64)
        assert px.shape == (48 * 48, ) and px.min() >= 0 and px.max() <= 255
        assert px.std() > 10                                 # a picture, not a blank


def test_affwild2(tmp_path):
    out = W.write_affwild2(str(tmp_path), num_videos=3, frames_per_video=40, image_size=32,
                           seed=0, unannotated_fraction=0.1, missing_fraction=0.1)
    ann = tmp_path / 'annotations'
    videos = out['videos']
    names = sorted(videos)
    assert any(n.endswith('_left') for n in names) and any(n.endswith('_right') for n in names)
    assert {v['set'] for v in videos.values()} == {'Train_Set', 'Validation_Set'}
    au_header = 'AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26'
    for name in names:
        subset = videos[name]['set']
        expr = (ann / 'EXPR_Classification_Challenge' / subset / f'{name}.txt').read_text()
        va = (ann / 'VA_Estimation_Challenge' / subset / f'{name}.txt').read_text()
        au = (ann / 'AU_Detection_Challenge' / subset / f'{name}.txt').read_text()
        expr, va, au = expr.splitlines(), va.splitlines(), au.splitlines()
        assert expr[0] == 'Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other'
        assert va[0] == 'valence,arousal' and au[0] == au_header
        assert len(expr) == len(va) == len(au) == 41
        e = np.array([int(v) for v in expr[1:]])
        assert set(e.tolist()) <= set(range(-1, 8)) and (e == -1).sum() == 4
        v = np.array([[float(x) for x in ln.split(',')] for ln in va[1:]])
        na = (v == -5).all(1)
        assert na.sum() == 4 and (np.abs(v[~na]) <= 1).all()
        a = np.array([[int(x) for x in ln.split(',')] for ln in au[1:]])
        assert a.shape == (40, 12)
        assert ((a == -1).all(1)).sum() == 4 and set(a[~(a == -1).all(1)].ravel()) <= {0, 1}
        # frames: 00001.jpg is annotation line 1; the missing ones have no image
        files = sorted(glob.glob(str(tmp_path / 'cropped_aligned' / name / '*.jpg')))
        nums = [int(osp.basename(f)[:-4]) for f in files]
        assert all(re.fullmatch(r'\d{5}\.jpg', osp.basename(f)) for f in files)
        assert sorted(set(range(1, 41)) - set(nums)) == videos[name]['missing']
        assert cv2.imread(files[0]).shape == (32, 32, 3)
    assert sum(len(v['missing']) for v in videos.values()) >= 1
    # both challenge subsets exist, as in the real release
    for ch in ('EXPR_Classification_Challenge', 'VA_Estimation_Challenge',
               'AU_Detection_Challenge'):
        assert sorted(p.name for p in (ann / ch).iterdir()) == ['Train_Set', 'Validation_Set']


def test_voxceleb(tmp_path):
    out = W.write_voxceleb(str(tmp_path), num_identities=2, videos_per_identity=2,
                           frames_per_video=4, image_size=32, seed=0)
    files = sorted(osp.relpath(f, tmp_path)
                   for f in glob.glob(str(tmp_path / 'id*' / '*' / '*.jpg')))
    assert len(files) == out['num_images'] == 16 and out['num_videos'] == 4
    assert files[0] == osp.join('id10001', 'vid_000', '00001.jpg')
    assert files[-1] == osp.join('id10002', 'vid_001', '00004.jpg')
    lms = load_landmarks(str(tmp_path / 'landmarks.npz'))
    assert sorted(lms) == files
    rows = _read_csv(tmp_path / 'meta.csv')[1:]
    assert len(rows) == 16
    for r in rows:
        ident, video, frame = int(r[1]), int(r[2]), int(r[3])
        assert r[0] == f'id{10001 + ident}/vid_{video % 2:03d}/{frame + 1:05d}.jpg'
        assert (lms[r[0]][0] > 0).all() and (lms[r[0]][0] < 32).all()
