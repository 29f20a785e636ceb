# Copyright (c) mmfer contributors. All rights reserved.
"""Every writer's files parse back with plain csv/numpy/cv2 into the real datasets' formats."""
import csv
import glob
import os.path as osp
import re

import cv2
import numpy as np
import pytest

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


# ------------------------------------------------------------------ identity-disjoint RAF-DB
def _meta(root):
    with open(osp.join(root, 'meta.csv')) as f:
        return list(csv.DictReader(f))


def _split_people(root):
    people = {'train': set(), 'test': set()}
    for m in _meta(root):
        people[osp.basename(m['img_path']).split('_')[0]].add(int(m['identity']))
    return people


def test_rafdb_bank_and_test_people_are_disjoint(tmp_path):
    out = W.write_rafdb(str(tmp_path), num_train=40, num_test=10, image_size=32, seed=2,
                        num_identities=10)
    assert out['identity_split'] == 'disjoint'
    assert out['train_identities'] == [0, 8] and out['test_identities'] == [8, 10]
    people = _split_people(str(tmp_path))
    assert people['train'] <= set(range(8)) and people['test'] <= {8, 9}
    assert not people['train'] & people['test'] and len(people['train']) >= 6
    # the dataset exposes each image's person, and the files agree with meta.csv
    from mmfer.datasets import RAFDB
    bank, test = RAFDB(str(tmp_path), split='train'), RAFDB(str(tmp_path), split='test')
    ids = {split: [ds.get_data_info(i)['identity'] for i in range(len(ds))]
           for split, ds in (('train', bank), ('test', test))}
    assert set(ids['train']) == people['train'] and set(ids['test']) == people['test']
    assert len(ids['train']) == 40 and len(ids['test']) == 10


def test_rafdb_shared_split_is_the_earlier_layout(tmp_path):
    W.write_rafdb(str(tmp_path), num_train=40, num_test=20, image_size=32, seed=2,
                  num_identities=4, identity_split='shared')
    people = _split_people(str(tmp_path))
    assert people['train'] == people['test'] == set(range(4))    # everyone in both splits
    with pytest.raises(ValueError, match='identity_split'):
        W.write_rafdb(str(tmp_path / 'x'), identity_split='mixed')


def test_split_identities():
    assert W.split_identities(10, 80, 20) == (8, 2)
    assert W.split_identities(10, 99, 1) == (9, 1)              # at least one test person
    assert W.split_identities(2, 1, 99) == (1, 1)               # at least one bank person
    assert W.split_identities(5, 10, 0) == (5, 0) and W.split_identities(5, 0, 3) == (0, 5)
    assert W.split_identities(10, 80, 20, num_test_identities=5) == (5, 5)
    with pytest.raises(ValueError, match='at least 2 identities'):
        W.split_identities(1, 10, 10)
    with pytest.raises(ValueError, match='num_test_identities'):
        W.split_identities(4, 10, 10, num_test_identities=4)


def test_rafdb_identity_file_errors(tmp_path):
    from mmfer.datasets import RAFDB
    W.write_rafdb(str(tmp_path), num_train=4, num_test=2, image_size=32, num_identities=3)
    rows = (tmp_path / 'meta.csv').read_text().splitlines()
    (tmp_path / 'meta.csv').write_text('\n'.join(rows[:2]) + '\n')   # one image left
    with pytest.raises(KeyError, match=r'meta.csv has no identity for Image/aligned/train_00002'):
        RAFDB(str(tmp_path), split='train')
    (tmp_path / 'meta.csv').write_text('img_path,person\nx.jpg,1\n')
    with pytest.raises(ValueError, match='expected columns img_path and identity'):
        RAFDB(str(tmp_path), split='train')
    # no identity file (the real release): no identity field
    ds = RAFDB(str(tmp_path), split='train', identity_file=None)
    assert 'identity' not in ds.get_data_info(0)
    (tmp_path / 'meta.csv').unlink()
    assert 'identity' not in RAFDB(str(tmp_path), split='test').get_data_info(0)


# ------------------------------------------------------------------------------------ FEC
def test_fec_vote():
    aus = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0]])         # face 3 is the odd one
    rng = np.random.default_rng(0)
    assert W.fec_vote(aus, 6, 0.0, rng) == (3, 1.0)
    odd, agreement = W.fec_vote(aus[[2, 0, 1]], 6, 0.0, rng)
    assert (odd, agreement) == (1, 1.0)
    # a near tie with noisy annotators: a majority, not unanimous
    near = np.array([[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]])
    votes = [W.fec_vote(near, 6, 0.3, rng) for _ in range(50)]
    assert all(1 <= o <= 3 and 1 / 3 <= a <= 1 for o, a in votes)
    assert min(a for _, a in votes) < 1.0


def test_fec_layout_reads_with_the_fec_dataset(tmp_path):
    from mmfer.datasets import FEC
    out = W.write_fec(str(tmp_path), num_train=30, num_test=3, image_size=32, seed=1)
    assert out['num_images'] == 99
    assert out['types']['train'] == dict.fromkeys(W.FEC_TRIPLET_TYPES, 10)
    meta = {m['img_path']: m for m in _meta(str(tmp_path))}
    lone_is_odd = []
    for split, n in (('train', 30), ('test', 3)):
        ds = FEC(str(tmp_path), split=split)
        assert len(ds) == n
        for i in range(n):
            info = ds.get_data_info(i)
            assert all(osp.isfile(p) for p in info['img_paths'])
            assert 0 <= info['gt_label'] <= 2 and 0 < info['agreement'] <= 1
            labels = [int(meta['images/' + osp.basename(p)]['gt_label'])
                      for p in info['img_paths']]
            n_classes = {'one_class': 1, 'two_class': 2, 'three_class': 3}[info['triplet_type']]
            assert len(set(labels)) == n_classes
            if n_classes == 2:
                lone_is_odd.append(labels.count(labels[info['gt_label']]) == 1)
    # two-class triplets: the face of the other class is mostly the odd one (by AUs; not
    # always: a weak expression can be closer to another class's face than to a strong one)
    assert len(lone_is_odd) == 11 and sum(lone_is_odd) >= 8, lone_is_odd


# ------------------------------------------------------------------------------------ MS1M
def test_ms1m_recordio_reads_with_ms1m_dataset(tmp_path):
    from mmfer.datasets import MS1MRecordIO, RecordIOReader
    from mmfer.datasets.recordio import unpack
    out = W.write_ms1m(str(tmp_path), num=11, image_size=32, seed=0, num_identities=3)
    assert (tmp_path / 'property').read_text() == '3,32,32\n'
    ds = MS1MRecordIO(str(tmp_path), landmark_file='landmarks.npz', missing_landmarks='error',
                      pipeline=[dict(type='LoadFaceImage')])  # the dataset lists, this loads
    assert len(ds) == 11 == out['num_images']
    item = ds[4]
    assert item['img'].shape == (32, 32, 3) and item['has_landmarks']
    reader = RecordIOReader(str(tmp_path / 'train.rec'))
    header, _ = unpack(reader.read_idx(0))
    assert list(header.label) == [12, 15]                        # images 1-11, ids 12-14
    labels = [int(unpack(reader.read_idx(k))[0].label) for k in range(1, 12)]
    assert labels == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]            # sorted by person
    spans = [list(unpack(reader.read_idx(k))[0].label) for k in (12, 13, 14)]
    assert spans == [[1, 5], [5, 9], [9, 12]]
    meta = _meta(str(tmp_path))
    assert [m['img_path'] for m in meta] == [f'train.rec#{k}' for k in range(1, 12)]
    assert [int(m['identity']) for m in meta] == labels
    # the landmarks are those of the stored (JPEG) face: inside the picture
    kp = ds.get_data_info(0)['keypoints'][0]
    assert (kp > 0).all() and (kp < 32).all()


# ------------------------------------------------------------------------------------- LFW
def test_lfw_layout_and_pairs(tmp_path):
    out = W.write_lfw(str(tmp_path), num=60, image_size=40, seed=0, num_identities=12,
                      num_folds=2, max_pairs=10)
    people = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert len(people) == 12 and people[0] == 'Synthetic_Person00000'
    counts = {p: len(list((tmp_path / p).iterdir())) for p in people}
    assert sum(counts.values()) == 60 and min(counts.values()) >= 1
    assert max(counts.values()) >= 3 * min(counts.values())    # skewed, like LFW
    for p in people:
        assert sorted(f.name for f in (tmp_path / p).iterdir()) == \
            [f'{p}_{i:04d}.jpg' for i in range(1, counts[p] + 1)]
    lines = (tmp_path / 'pairs.txt').read_text().splitlines()
    folds, n = map(int, lines[0].split())
    assert folds == 2 and n == out['pairs_per_fold'] and 1 <= n <= 10
    assert len(lines) == 1 + folds * 2 * n
    fold_people = []
    for k in range(folds):
        block = [ln.split('\t') for ln in lines[1 + 2 * n * k:1 + 2 * n * (k + 1)]]
        same, diff = block[:n], block[n:]
        assert all(len(r) == 3 and int(r[1]) < int(r[2]) for r in same)
        assert all(len(r) == 4 and r[0] != r[2] for r in diff)
        assert len({tuple(r) for r in same}) == n and len({tuple(r) for r in diff}) == n
        images = [(r[0], r[1]) for r in same + diff] + [(r[0], r[2]) for r in same] + \
            [(r[2], r[3]) for r in diff]
        for name, i in images:
            assert (tmp_path / name / f'{name}_{int(i):04d}.jpg').is_file()
        fold_people.append({r[0] for r in same} | {r[0] for r in diff} | {r[2] for r in diff})
    assert not fold_people[0] & fold_people[1]                 # folds are disjoint in people
    with pytest.raises(ValueError, match='num_identities'):
        W.write_lfw(str(tmp_path / 'x'), num=5, num_identities=6)


def test_writers_registry_has_every_format():
    assert set(W.WRITERS) == {'folder', 'rafdb', 'affectnet', 'fer2013', 'affwild2',
                              'voxceleb', 'fec', 'ms1m', 'bp4d', 'disfa', 'gft', 'lfw'}
