# Copyright (c) mmfer contributors. All rights reserved.
"""Bad inputs, dataset by dataset: each fails with an error naming the culprit (file path,
``file:line`` or key), or is skipped *and counted and logged* where the dataset allows it.

Covered per dataset (where the case exists for its format): missing image, corrupt image
(truncated / garbage / empty bytes), empty annotation file, label out of range, landmarks with
the wrong count or NaNs; then unknown ``type`` / unknown keyword in a config, and a typo'd
``--cfg-options`` key given to ``tools/train.py``.
"""
import contextlib
import itertools
import logging
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from mmfer.datasets import load_landmarks, save_landmarks
from mmfer.datasets.synthetic import (SyntheticFaceGenerator, write_affectnet, write_affwild2,
                                      write_face_folder, write_fer2013, write_rafdb,
                                      write_voxceleb)
from mmfer.registry import DATASETS, MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPELINE = [dict(type='LoadFaceImage'), dict(type='PackInputs')]
LENIENT_PIPELINE = [dict(type='LoadFaceImage', ignore_empty=True), dict(type='PackInputs')]
_log_ids = itertools.count()


@contextlib.contextmanager
def captured_log():
    """Messages printed to mmengine's *current* logger inside the block."""
    name = f'test_bad_inputs_{next(_log_ids)}'
    logger = MMLogger.get_instance(name, log_level='INFO')
    messages = []

    class _Collect(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = _Collect(level=logging.DEBUG)
    logger.addHandler(handler)
    MMLogger._instance_dict.move_to_end(name)  # make it the current instance
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def corrupt(path: str, how: str) -> None:
    """Damage an image file in place: 'truncate' (first half), 'garbage' or 'empty'."""
    data = open(path, 'rb').read()
    payload = {'truncate': data[:len(data) // 2],
               'garbage': bytes(np.random.default_rng(0).integers(0, 256, 300, np.uint8)),
               'empty': b''}[how]
    with open(path, 'wb') as f:
        f.write(payload)


def rewrite_line(path: str, lineno: int, new: str) -> None:
    lines = open(path).read().splitlines()
    lines[lineno - 1] = new
    open(path, 'w').write('\n'.join(lines) + '\n')


def build(**cfg):
    return DATASETS.build(cfg)


# ------------------------------------------------------------------------------ image loading
@pytest.mark.parametrize('how', ['truncate', 'garbage', 'empty'])
def test_load_image_corrupt_names_file_or_skips_and_counts(tmp_path, how):
    img = SyntheticFaceGenerator(32, seed=0).render(identity=1)['img']
    path = str(tmp_path / 'face.jpg')
    cv2.imwrite(path, img)
    load = TRANSFORMS.build(dict(type='LoadFaceImage'))
    assert load(dict(img_path=path))['img'].shape == (32, 32, 3)
    corrupt(path, how)
    with pytest.raises(ValueError, match=r'face\.jpg is corrupt or not an image'):
        load(dict(img_path=path))
    lenient = TRANSFORMS.build(dict(type='LoadFaceImage', ignore_empty=True))
    with captured_log() as log:
        assert lenient(dict(img_path=path)) is None
        assert lenient(dict(img_path=str(tmp_path / 'gone.jpg'))) is None
    assert lenient.num_skipped == 2
    assert any('face.jpg is corrupt' in m and '1 skipped so far' in m for m in log), log
    assert any('gone.jpg does not exist' in m and '2 skipped so far' in m for m in log), log


def test_load_image_missing_file_names_it(tmp_path):
    load = TRANSFORMS.build(dict(type='LoadFaceImage'))
    with pytest.raises(FileNotFoundError, match=r'nothere\.png does not exist'):
        load(dict(img_path=str(tmp_path / 'nothere.png')))


# ------------------------------------------------------------------------------ RAF-DB
@pytest.fixture
def rafdb(tmp_path):
    info = write_rafdb(str(tmp_path / 'rafdb'), num_train=4, num_test=2, image_size=32,
                       num_identities=2)
    return info['root']


def test_rafdb_bad_inputs(rafdb, tmp_path):
    labels = osp.join(rafdb, 'EmoLabel', 'list_patition_label.txt')
    img_dir = osp.join(rafdb, 'Image', 'aligned')
    ok = build(type='RAFDB', data_root=rafdb, pipeline=PIPELINE)
    assert len(ok) == 4 and ok[0]['inputs'].shape == (3, 32, 32)

    # missing image: error naming it, or skip_missing drops and counts it
    os.remove(osp.join(img_dir, 'train_00002_aligned.jpg'))
    with pytest.raises(FileNotFoundError, match=r'(?s)1 image files are missing.*'
                       r'train_00002_aligned\.jpg'):
        build(type='RAFDB', data_root=rafdb)
    with captured_log() as log:
        ds = build(type='RAFDB', data_root=rafdb, skip_missing=True, pipeline=PIPELINE)
    assert len(ds) == 3
    assert any('kept 3 samples; dropped 1 (1 missing image)' in m for m in log), log

    # corrupt JPEG: the loader names it; ignore_empty=True skips and counts
    corrupt(osp.join(img_dir, 'train_00003_aligned.jpg'), 'truncate')
    idx = [i for i in range(len(ds)) if ds.get_data_info(i)['img_name'] == 'train_00003.jpg'][0]
    with pytest.raises(ValueError, match=r'train_00003_aligned\.jpg is corrupt or not an image'):
        ds[idx]
    lenient = build(type='RAFDB', data_root=rafdb, skip_missing=True,
                    pipeline=LENIENT_PIPELINE)
    with captured_log() as log:
        item = lenient[idx]  # training mode: another sample is drawn
    assert item['data_samples'].img_path != ds.get_data_info(idx)['img_path']
    assert lenient.pipeline.transforms[0].num_skipped >= 1
    assert any('train_00003_aligned.jpg is corrupt' in m for m in log), log

    # label out of range / malformed line: file:line
    rewrite_line(labels, 2, 'train_00002.jpg 8')
    with pytest.raises(ValueError, match=r'list_patition_label\.txt:2: label 8 outside 1-7'):
        build(type='RAFDB', data_root=rafdb, skip_missing=True)
    rewrite_line(labels, 2, 'train_00002.jpg')
    with pytest.raises(ValueError, match=r'list_patition_label\.txt:2: expected'):
        build(type='RAFDB', data_root=rafdb, skip_missing=True)

    # empty annotation file
    open(labels, 'w').close()
    with pytest.raises(ValueError, match=r"list_patition_label\.txt: kept 0 samples.*'train' "
                       r'split is empty'):
        build(type='RAFDB', data_root=rafdb)


# ------------------------------------------------------------------------------ AffectNet
def test_affectnet_bad_inputs(tmp_path):
    root = write_affectnet(str(tmp_path / 'affectnet'), num_train=8, num_val=2, image_size=48,
                           num_identities=2, special_fraction=0.0)['root']
    csv_path = osp.join(root, 'Manually_Annotated_file_lists', 'training.csv')
    rows = open(csv_path).read().splitlines()
    # rows with an emotion code (the writer always adds a few 8-10 "special" rows)
    good = [i for i in range(1, len(rows)) if int(rows[i].split(',')[6]) <= 7]
    assert len(good) >= 3
    first = rows[good[0]].split(',')
    pipeline = [dict(type='LoadFaceImage'), dict(type='CropFaceBox'),
                dict(type='Resize', scale=(32, 32)), dict(type='PackInputs')]
    ds = build(type='AffectNet', data_root=root, num_classes=8, with_landmarks=True,
               pipeline=pipeline)
    assert len(ds) == len(good) and ds.get_data_info(0)['gt_keypoints'].shape == (68, 2)

    # missing image
    img0 = osp.join(root, 'Manually_Annotated_Images', first[0])
    os.rename(img0, img0 + '.bak')
    with pytest.raises(FileNotFoundError, match=re_escape(first[0])):
        build(type='AffectNet', data_root=root, num_classes=8)
    with captured_log() as log:
        ds = build(type='AffectNet', data_root=root, num_classes=8, skip_missing=True)
    assert len(ds) == len(good) - 1
    assert any('1 missing image' in m for m in log), log
    os.rename(img0 + '.bak', img0)

    # corrupt image, read through the pipeline
    corrupt(img0, 'garbage')
    ds = build(type='AffectNet', data_root=root, num_classes=8, pipeline=pipeline)
    with pytest.raises(ValueError, match=re_escape(first[0]) + ' is corrupt or not an image'):
        ds[0]

    def with_row(i, col, value):
        r = rows[i].split(',')
        r[col] = value
        open(csv_path, 'w').write('\n'.join(rows[:i] + [','.join(r)] + rows[i + 1:]) + '\n')

    # label out of range
    with_row(good[1], 6, '11')
    with pytest.raises(ValueError, match=rf'training\.csv:{good[1] + 1}: expression code 11 '
                       'outside 0-10'):
        build(type='AffectNet', data_root=root)
    # landmarks: 67 points, NaN; NaN valence
    i, line = good[0], good[0] + 1  # lines are 1-based, the header is line 1
    pts = rows[i].split(',')[5].split(';')
    with_row(i, 5, ';'.join(pts[:134]))
    with pytest.raises(ValueError, match=rf'training\.csv:{line}: facial_landmarks has 134 '
                       'values'):
        build(type='AffectNet', data_root=root, with_landmarks=True)
    with_row(i, 5, ';'.join(['nan'] + pts[1:]))
    with pytest.raises(ValueError, match=rf'training\.csv:{line}: facial_landmarks has '
                       'non-finite'):
        build(type='AffectNet', data_root=root, with_landmarks=True)
    with_row(i, 7, 'nan')
    with pytest.raises(ValueError, match=rf'training\.csv:{line}: non-finite .*valence'):
        build(type='AffectNet', data_root=root)

    # empty annotation file
    open(csv_path, 'w').close()
    with pytest.raises(ValueError, match=r'training\.csv:1: expected the header'):
        build(type='AffectNet', data_root=root)
    open(csv_path, 'w').write(rows[0] + '\n')  # header only
    with pytest.raises(ValueError, match=r'training\.csv: kept 0 samples'):
        build(type='AffectNet', data_root=root)


def re_escape(s: str) -> str:
    import re
    return re.escape(s)


# ------------------------------------------------------------------------------ FER2013
def test_fer2013_bad_inputs(tmp_path):
    from mmfer.datasets.fer2013 import convert_fer2013
    root = write_fer2013(str(tmp_path / 'fer'), num=10, num_identities=2)['root']
    csv_path = osp.join(root, 'fer2013.csv')
    rows = open(csv_path).read().splitlines()
    convert_fer2013(csv_path, progress=False)
    ds = build(type='FER2013', data_root=root, split='train', pipeline=PIPELINE)
    assert len(ds) == 8 and ds[0]['inputs'].shape == (3, 48, 48)

    # a damaged converted PNG is named when read
    corrupt(ds.get_data_info(1)['img_path'], 'truncate')
    with pytest.raises(ValueError, match=r'Training/00002\.png is corrupt or not an image'):
        ds[1]

    # label out of range, wrong pixel count: file:line (dataset and converter)
    def with_row(i, col, value):
        r = rows[i].split(',')
        r[col] = value
        open(csv_path, 'w').write('\n'.join(rows[:i] + [','.join(r)] + rows[i + 1:]) + '\n')

    with_row(3, 0, '7')
    with pytest.raises(ValueError, match=r'fer2013\.csv:4: emotion 7 outside 0-6'):
        build(type='FER2013', data_root=root)
    with_row(3, 1, ' '.join(['1'] * 2303))
    with pytest.raises(ValueError, match=r'fer2013\.csv:4: expected 2304 pixel values'):
        convert_fer2013(csv_path, str(tmp_path / 'png3'), progress=False)
    # an edited CSV no longer matches its converted images
    with pytest.raises(ValueError, match=r'fer2013\.csv changed since its images'):
        build(type='FER2013', data_root=root)

    # empty file / a split without rows
    open(csv_path, 'w').close()
    with pytest.raises(ValueError, match=r'fer2013\.csv:1: expected header'):
        build(type='FER2013', data_root=root)
    open(csv_path, 'w').write('\n'.join(rows[:9]) + '\n')  # header + 8 Training rows
    convert_fer2013(csv_path, str(tmp_path / 'png4'), progress=False)
    with pytest.raises(ValueError, match=r"fer2013\.csv: kept 0 samples.*'test' split is empty"):
        build(type='FER2013', data_root=root, split='test', img_dir=str(tmp_path / 'png4'))


# ------------------------------------------------------------------------------ FEC
def _fec(tmp_path):
    info = write_face_folder(str(tmp_path / 'faces'), num=4, image_size=32, num_identities=2)
    root = tmp_path / 'fec'
    (root / 'images').mkdir(parents=True)
    (root / 'annotations').mkdir()
    for name in os.listdir(osp.join(info['root'], 'images')):
        os.replace(osp.join(info['root'], 'images', name), root / 'images' / name)
    ann = root / 'annotations' / 'train.csv'
    ann.write_text('image1,image2,image3,odd_one_out,triplet_type\n'
                   '000000.jpg,000001.jpg,000002.jpg,1,ONE_CLASS_TRIPLET\n'
                   '000001.jpg,000002.jpg,000003.jpg,3,TWO_CLASS_TRIPLET\n')
    return str(root), str(ann)


def test_fec_bad_inputs(tmp_path):
    root, ann = _fec(tmp_path)
    pipeline = [dict(type='ApplyToList', scatter_key='img_path', collate_keys=['img'],
                     transforms=[dict(type='LoadFaceImage')]),
                dict(type='PackInputs')]
    ds = build(type='FEC', data_root=root, pipeline=pipeline)
    assert len(ds) == 2 and len(ds[0]['inputs']) == 3

    corrupt(osp.join(root, 'images', '000002.jpg'), 'empty')
    with pytest.raises(ValueError, match=r'000002\.jpg is corrupt or not an image \(0 bytes'):
        ds[0]
    os.remove(osp.join(root, 'images', '000003.jpg'))
    with pytest.raises(FileNotFoundError, match=r'(?s)1 triplets have a missing image.*'
                       r'000003\.jpg \(line 3\)'):
        build(type='FEC', data_root=root)
    with captured_log() as log:
        ds = build(type='FEC', data_root=root, skip_missing=True)
    assert len(ds) == 1 and any('dropped 1 (1 missing image)' in m for m in log), log

    rewrite_line(ann, 2, '000000.jpg,000001.jpg,000002.jpg,4,ONE_CLASS_TRIPLET')
    with pytest.raises(ValueError, match=r'train\.csv:2: odd_one_out must be 1, 2 or 3'):
        build(type='FEC', data_root=root, skip_missing=True)
    open(ann, 'w').close()
    with pytest.raises(ValueError, match=r'train\.csv:1: expected the header'):
        build(type='FEC', data_root=root)


# ------------------------------------------------------------------------------ Aff-Wild2
@pytest.fixture
def affwild2(tmp_path):
    info = write_affwild2(str(tmp_path / 'aw2'), num_videos=2, frames_per_video=5,
                          image_size=32, val_videos=1, unannotated_fraction=0.0,
                          missing_fraction=0.0)
    train = [v for v, i in info['videos'].items() if i['set'] == 'Train_Set'][0]
    n_train = sum(i['num_frames'] for i in info['videos'].values() if i['set'] == 'Train_Set')
    return info['root'], train, n_train


@pytest.mark.parametrize('track,bad_line,match', [
    ('Expr', '8', r'label 8 is outside \[-1, 7\]'),
    ('VA', '0.5,1.5', r'valence/arousal \[0\.5, 1\.5\] outside \[-1, 1\]'),
    ('VA', 'nan,0.1', r'valence/arousal \[nan, 0\.1\] outside \[-1, 1\]'),
    ('AU', '0,1,2,0,0,0,0,0,0,0,0,0', r"AU values must be 0, 1 or -1.*\('AU4', 2\)"),
])
def test_affwild2_bad_labels_name_file_line(affwild2, track, bad_line, match):
    root, video, _ = affwild2
    challenge = dict(Expr='EXPR_Classification_Challenge', VA='VA_Estimation_Challenge',
                     AU='AU_Detection_Challenge')[track]
    ann = osp.join(root, 'annotations', challenge, 'Train_Set', f'{video}.txt')
    rewrite_line(ann, 3, bad_line)
    with pytest.raises(ValueError, match=re_escape(f'{video}.txt:3: ') + match):
        build(type=f'AffWild2{track}', data_root=root)


def test_affwild2_missing_corrupt_empty(affwild2):
    root, video, n_train = affwild2
    frames = osp.join(root, 'cropped_aligned', video)
    os.remove(osp.join(frames, '00002.jpg'))  # no face detected: counted, logged, skipped
    with captured_log() as log:
        ds = build(type='AffWild2Expr', data_root=root, frame_interval=1, pipeline=PIPELINE)
    assert len(ds) == n_train - 1 and ds.stats['missing_images'] == 1
    assert any('1 frames without an image skipped' in m for m in log), log
    corrupt(osp.join(frames, '00003.jpg'), 'truncate')
    idx = [i for i in range(len(ds)) if ds.get_data_info(i)['frame'] == 3][0]
    with pytest.raises(ValueError, match=re_escape(osp.join(video, '00003.jpg')) + ' is corrupt'):
        ds[idx]
    ann = osp.join(root, 'annotations', 'EXPR_Classification_Challenge', 'Train_Set',
                   f'{video}.txt')
    open(ann, 'w').close()
    with pytest.raises(ValueError, match=re_escape(f'{video}.txt') + ': empty annotation file'):
        build(type='AffWild2Expr', data_root=root)


# ------------------------------------------------------------------------------ AU lists
def test_au_list_bad_inputs(tmp_path):
    root = write_face_folder(str(tmp_path / 'au'), num=3, image_size=32, num_identities=2)['root']
    lst = tmp_path / 'au' / 'list.txt'
    lst.write_text('path AU1 AU2\n000000.jpg 1 0\n000001.jpg 9 1\n000002.jpg 0 0\n')
    ds = build(type='AUListDataset', data_root=root, ann_file='list.txt', data_prefix='images',
               pipeline=PIPELINE)
    assert len(ds) == 3
    os.remove(osp.join(root, 'images', '000001.jpg'))
    with pytest.raises(FileNotFoundError, match=r'images/000001\.jpg does not exist'):
        ds[1]
    corrupt(osp.join(root, 'images', '000002.jpg'), 'garbage')
    with pytest.raises(ValueError, match=r'000002\.jpg is corrupt or not an image'):
        ds[2]
    lst.write_text('path AU1 AU2\n000000.jpg 1 2\n')
    with pytest.raises(ValueError, match=r"list\.txt:2: AU2 has value '2'"):
        build(type='AUListDataset', data_root=root, ann_file='list.txt')
    lst.write_text('path AU1 AU2\n')
    with pytest.raises(ValueError, match=r'list\.txt: 0 frames.*no frames'):
        build(type='AUListDataset', data_root=root, ann_file='list.txt')
    lst.write_text('')
    with pytest.raises(ValueError, match=r'list\.txt: empty AU list'):
        build(type='AUListDataset', data_root=root, ann_file='list.txt')


# ------------------------------------------------------------------------------ landmarks
@pytest.fixture
def face_folder(tmp_path):
    return write_face_folder(str(tmp_path / 'folder'), num=3, image_size=32, num_identities=2)


@pytest.mark.parametrize('defect,match', [
    ('67 points', r'expected 68 landmarks per image, got 67'),
    ('nan', r'non-finite landmarks for images/000001\.jpg \(entry 1'),
])
def test_landmark_file_wrong_count_or_nan(face_folder, tmp_path, defect, match):
    table = load_landmarks(face_folder['landmarks'])
    keys = sorted(table)
    kpts = np.stack([table[k][0] for k in keys])
    if defect == '67 points':
        kpts = kpts[:, :67]
    else:
        kpts[1, 30, 0] = np.nan
    save_landmarks(face_folder['landmarks'], keys, kpts)
    with pytest.raises(ValueError, match=re_escape(face_folder['landmarks']) + ': ' + match):
        build(type='FaceFolderDataset', data_root=face_folder['root'], data_prefix='images',
              landmark_file='landmarks.npz')


def _damaged_landmark_files(tmp_path, good: str):
    """name -> (bytes, what the error must say)."""
    data = open(good, 'rb').read()
    paths = np.asarray(['a.jpg'], dtype=object)  # an object array: pickled inside the npz
    np.savez(tmp_path / 'objects.npz', img_paths=paths, keypoints=np.zeros((1, 68, 2)))
    np.save(tmp_path / 'single.npy', np.zeros((1, 68, 2)))
    return {
        'zero.npz': (b'', 'is an empty file (0 bytes)'),
        'text.npz': (b'images/000001.jpg 1 2 3 4\n', 'is not a .npz archive'),
        'half.npz': (data[:len(data) // 2], 'is truncated or corrupt'),
        'head.npz': (data[:30], 'is truncated or corrupt'),
        'objects.npz': ((tmp_path / 'objects.npz').read_bytes(),
                        "array 'img_paths' holds Python objects"),
        'single.npz': ((tmp_path / 'single.npy').read_bytes(),
                       'is a single .npy array, not a .npz archive'),
    }


def test_damaged_landmark_file_is_named_and_diagnosed(face_folder, tmp_path):
    # numpy's own messages name no file and, for a text file, advise allow_pickle=True
    for name, (payload, words) in _damaged_landmark_files(tmp_path,
                                                          face_folder['landmarks']).items():
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(ValueError) as err:
            load_landmarks(str(path))
        msg = str(err.value)
        assert f'landmark file {path}' in msg and words in msg, (name, msg)
        assert 'allow_pickle' not in msg or 'refuses' in msg, (name, msg)
    # the datasets report it the same way, before reading any image
    root = face_folder['root']
    open(osp.join(root, 'landmarks.npz'), 'wb').write(b'')
    with pytest.raises(ValueError, match=r'landmark file .*landmarks\.npz is an empty file'):
        build(type='FaceFolderDataset', data_root=root, data_prefix='images',
              landmark_file='landmarks.npz')


def test_per_image_landmark_text_with_nan_names_file_line(face_folder, tmp_path):
    lm_dir = tmp_path / 'pts'
    (lm_dir / 'images').mkdir(parents=True)  # <landmark_dir>/<image key stem>.pts
    lines = ['version: 1', 'n_points: 68', '{'] + ['1 2'] * 68 + ['}']
    lines[3 + 40] = '1 nan'
    (lm_dir / 'images' / '000000.pts').write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'000000\.pts:44: expected two finite numbers'):
        build(type='FaceFolderDataset', data_root=face_folder['root'], data_prefix='images',
              landmark_ext='.pts', landmark_dir=str(lm_dir))


def test_face_folder_truncated_jpeg_error_or_skip_and_count(face_folder):
    corrupt(osp.join(face_folder['root'], 'images', '000001.jpg'), 'truncate')
    strict = build(type='FaceFolderDataset', data_root=face_folder['root'],
                   data_prefix='images', pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'LoadFaceImage: image .*000001\.jpg is corrupt'):
        strict[1]
    lenient = build(type='FaceFolderDataset', data_root=face_folder['root'],
                    data_prefix='images', pipeline=LENIENT_PIPELINE)
    with captured_log() as log:
        item = lenient[1]
    skipped = lenient.pipeline.transforms[0].num_skipped
    assert not item['data_samples'].img_path.endswith('000001.jpg') and skipped >= 1
    assert any('000001.jpg is corrupt' in m and 'skipped' in m for m in log), log


def test_voxceleb_bad_landmarks_and_corrupt_frames(tmp_path):
    info = write_voxceleb(str(tmp_path / 'vox'), num_identities=1, videos_per_identity=1,
                          frames_per_video=3, image_size=32)
    root = info['root']
    table = load_landmarks(info['landmarks'])
    keys = sorted(table)
    kpts = np.stack([table[k][0] for k in keys])
    kpts[2, 0, 1] = np.inf
    save_landmarks(info['landmarks'], keys, kpts)
    with pytest.raises(ValueError, match=r'landmarks\.npz: non-finite landmarks for '
                       + re_escape(keys[2])):
        build(type='VoxCelebFrames', data_root=root, landmark_file='landmarks.npz')
    pipeline = [dict(type='LoadFaceImage'), dict(type='TimeAug', max_offset=1.0)]
    ds = build(type='VoxCelebFrames', data_root=root, pipeline=pipeline)
    corrupt(osp.join(root, keys[1]), 'garbage')
    with pytest.raises(ValueError, match=re_escape(keys[1]) + ' is corrupt or not an image'):
        ds[1]  # the anchor itself
    # TimeAug reading the corrupt frame as a positive names it too
    from mmfer.datasets.transforms.temporal import load_frame
    with pytest.raises(ValueError, match='frame: image .*' + re_escape(keys[1]) + ' is corrupt'):
        load_frame(ds.frame_index, 1)
    lst = tmp_path / 'frames.txt'
    lst.write_text('')
    with pytest.raises(ValueError, match=r'no frames found in .*frames\.txt'):
        build(type='VoxCelebFrames', data_root=root, ann_file=str(lst))


def test_recordio_truncated_file_names_file_and_offset(tmp_path):
    from mmfer.datasets import RecordIOWriter
    from mmfer.datasets.recordio import IRHeader, pack_img
    faces = list(SyntheticFaceGenerator(32, seed=0).sample(3, seed=0, num_identities=2))
    rec, idx = str(tmp_path / 'train.rec'), str(tmp_path / 'train.idx')
    with RecordIOWriter(rec, idx) as w:
        for i, face in enumerate(faces):
            w.write_idx(i, pack_img(IRHeader(0, 0.0, i, 0), face['img']))
    size = os.path.getsize(rec)
    with open(rec, 'r+b') as f:
        f.truncate(size - 100)
    ds = build(type='MS1MRecordIO', data_root=str(tmp_path),
               pipeline=[dict(type='LoadFaceImage')])
    assert ds[0]['img'].shape == (32, 32, 3)
    with pytest.raises(ValueError, match=r'train\.rec: record at byte \d+ announces \d+ bytes, '
                       r'only \d+ left'):
        ds[2]


# ------------------------------------------------------------------------------ configs
def test_unknown_type_and_unknown_keyword_are_named(tmp_path):
    with pytest.raises(KeyError, match='RAFDBX is not in the mmfer::dataset registry'):
        DATASETS.build(dict(type='RAFDBX', data_root=str(tmp_path)))
    with pytest.raises(KeyError, match='NoSuchNet is not in the mmfer::model registry'):
        MODELS.build(dict(type='NoSuchNet'))
    with pytest.raises(KeyError, match='NoSuchTransform is not in the mmfer::transform'):
        TRANSFORMS.build(dict(type='NoSuchTransform'))
    with pytest.raises(TypeError, match="unexpected keyword argument 'dept'"):
        MODELS.build(dict(type='ResNet', dept=18))
    with pytest.raises(TypeError, match="unexpected keyword argument 'data_rot'"):
        DATASETS.build(dict(type='RAFDB', data_root=str(tmp_path), data_rot='x'))


def test_train_tool_typo_cfg_option_names_key(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py',
         'configs/contrawarp/benchmarks/resnet18_1xb64-coslr-40e_rafdb.py',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', 'model.backbone.dept=18'],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    # the last line (what the user reads first) names the class and the key
    assert 'ResNet' in err[-1] and "unexpected keyword argument 'dept'" in err[-1], err[-5:]
