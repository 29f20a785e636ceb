# Copyright (c) mmfer contributors. All rights reserved.
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from mmfer.datasets import load_landmarks, save_landmarks
from mmfer.datasets.face_folder import parse_image_list, read_landmark_text
from mmfer.registry import DATASETS


@pytest.fixture(scope='module')
def face_root(tmp_path_factory):
    from mmfer.datasets.synthetic import write_face_folder
    root = str(tmp_path_factory.mktemp('faces'))
    write_face_folder(root, num=6, image_size=32, seed=0, num_identities=3)
    return root


LOAD = [dict(type='LoadFaceImage')]


def _build(**kw):
    return DATASETS.build(dict(type='FaceFolderDataset', **kw))


def test_folder_scan_with_npz_landmarks(face_root):
    listed = _build(data_root=face_root, data_prefix='images', landmark_file='landmarks.npz')
    assert len(listed) == 6 and 'img' not in listed[2]  # the dataset only lists
    ds = _build(data_root=face_root, data_prefix='images', landmark_file='landmarks.npz',
                pipeline=LOAD)
    table = load_landmarks(osp.join(face_root, 'landmarks.npz'))
    item = ds[2]
    assert item['img'].shape == (32, 32, 3) and item['img'].dtype == np.uint8
    assert item['img_path'] == osp.join(face_root, 'images', '000002.jpg')
    np.testing.assert_array_equal(item['keypoints'][0], table['images/000002.jpg'][0])
    assert item['keypoints'].shape == (1, 68, 2) and item['keypoints_visible'].shape == (1, 68)
    assert item['has_landmarks'] is True and item['img_shape'] == (32, 32)
    # image decoded exactly as cv2 reads the file
    np.testing.assert_array_equal(item['img'], cv2.imread(item['img_path']))


def test_missing_landmarks_keep_drop_error(face_root, tmp_path):
    table = load_landmarks(osp.join(face_root, 'landmarks.npz'))
    keys = sorted(table)[:4]  # 2 of 6 images without landmarks
    lm = str(tmp_path / 'partial.npz')
    save_landmarks(lm, keys, np.stack([table[k][0] for k in keys]),
                   np.stack([table[k][1] for k in keys]))
    kept = _build(data_root=face_root, data_prefix='images', landmark_file=lm)
    assert len(kept) == 6 and kept.num_without_landmarks == 2
    assert [kept.get_data_info(i)['has_landmarks'] for i in range(6)] == [True] * 4 + [False] * 2
    assert not kept[5]['keypoints'].any() and not kept[5]['keypoints_visible'].any()
    # points the landmark tools flag (score 0, e.g. outside the image) are never visible
    scores = np.stack([table[k][1] for k in keys]).copy()
    scores[0, :3] = 0.0
    flagged = str(tmp_path / 'flagged.npz')
    save_landmarks(flagged, keys, np.stack([table[k][0] for k in keys]), scores)
    vis = _build(data_root=face_root, data_prefix='images',
                 landmark_file=flagged).get_data_info(0)['keypoints_visible'][0]
    assert vis[:3].sum() == 0 and vis[3:].all()
    dropped = _build(data_root=face_root, data_prefix='images', landmark_file=lm,
                     missing_landmarks='drop')
    assert len(dropped) == 4 and dropped.num_dropped_without_landmarks == 2
    with pytest.raises(KeyError, match=r'000004\.jpg.*no landmarks in'):
        _build(data_root=face_root, data_prefix='images', landmark_file=lm,
               missing_landmarks='error')
    with pytest.raises(ValueError, match='missing_landmarks must be one of'):
        _build(data_root=face_root, missing_landmarks='ignore')


def test_list_file_formats_and_per_image_text_landmarks(face_root, tmp_path):
    table = load_landmarks(osp.join(face_root, 'landmarks.npz'))
    lst = tmp_path / 'train.lst'
    # MS1M-style lines in the accepted layouts
    lst.write_text('# comment\n'
                   'images/000000.jpg 7\n'
                   '1\timages/000001.jpg\t3\n'  # insightface: aligned, path, label
                   '2\t5\timages/000003.jpg\n'  # mxnet im2rec: index, label, path
                   '\n'
                   'images/000005.jpg\n')
    assert parse_image_list(str(lst)) == [('images/000000.jpg', 7), ('images/000001.jpg', 3),
                                          ('images/000003.jpg', 5), ('images/000005.jpg', None)]
    # per-image text landmarks in a separate folder: .txt (x y per line) and .pts (300-W)
    lm_dir = tmp_path / 'lms' / 'images'
    lm_dir.mkdir(parents=True)
    np.savetxt(lm_dir / '000000.txt', table['images/000000.jpg'][0])
    pts = table['images/000001.jpg'][0]
    (lm_dir / '000001.txt').write_text(
        'version: 1\nn_points: 68\n{\n' + ''.join(f'{x} {y}\n' for x, y in pts) + '}\n')
    ds = _build(data_root=face_root, ann_file=str(lst), data_prefix='',
                landmark_ext='.txt', landmark_dir=str(tmp_path / 'lms'))
    assert len(ds) == 4 and ds.num_without_landmarks == 2
    assert ds.get_data_info(0)['identity'] == 7
    np.testing.assert_allclose(ds[0]['keypoints'][0], table['images/000000.jpg'][0], atol=1e-4)
    np.testing.assert_allclose(ds[1]['keypoints'][0], pts, atol=1e-4)
    assert ds[2]['has_landmarks'] is False

    bad = tmp_path / 'bad.lst'
    bad.write_text('images/000000.jpg\nno_image_here 3\n')
    with pytest.raises(ValueError, match=r'bad\.lst:2: no image path'):
        _build(data_root=face_root, ann_file=str(bad))
    (lm_dir / '000000.txt').write_text('1 2\n3 x\n')
    with pytest.raises(ValueError, match=r'000000\.txt:2: expected "x y"'):
        read_landmark_text(str(lm_dir / '000000.txt'))
    (lm_dir / '000000.txt').write_text('1 2\n3 4\n')
    with pytest.raises(ValueError, match=r'000000\.txt: expected 68 landmarks, found 2'):
        _build(data_root=face_root, ann_file=str(lst), landmark_ext='.txt',
               landmark_dir=str(tmp_path / 'lms'))


def test_missing_and_corrupt_images_error_or_skip_and_count(face_root, tmp_path):
    lst = tmp_path / 'list.txt'
    lst.write_text('images/000000.jpg\nimages/gone.jpg\nimages/000001.jpg\n')
    with pytest.raises(FileNotFoundError, match=r'gone\.jpg does not exist.*list\.txt'):
        _build(data_root=face_root, ann_file=str(lst))
    ds = _build(data_root=face_root, ann_file=str(lst), missing_images='drop')
    assert len(ds) == 2 and ds.num_missing_images == 1

    # corrupt (or vanished) files at read time: the loader raises naming them, or, with
    # ignore_empty=True, skips (another image is drawn), counts and logs them
    root = tmp_path / 'corrupt'
    (root / 'images').mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(root / 'images' / f'{i}.png'), np.full((8, 8, 3), 40 * i, np.uint8))
    (root / 'images' / '1.png').write_bytes(b'not a png at all')
    strict = _build(data_root=str(root), data_prefix='images', pipeline=LOAD)
    assert len(strict) == 3
    with pytest.raises(ValueError, match=r'1\.png is corrupt or not an image'):
        strict[1]
    lenient = _build(data_root=str(root), data_prefix='images',
                     pipeline=[dict(type='LoadFaceImage', ignore_empty=True)])
    loader = lenient.pipeline.transforms[0]
    item = lenient[1]  # a random other image is drawn instead
    assert osp.basename(item['img_path']) in ('0.png', '2.png')
    assert loader.num_skipped >= 1  # a random redraw may hit 1.png again
    os.remove(root / 'images' / '2.png')  # vanished after start-up: read error, skipped too
    for _ in range(5):
        assert osp.basename(lenient[2]['img_path']) == '0.png'
    assert loader.num_skipped >= 6


def test_pipeline_and_clear_errors(face_root):
    ds = _build(data_root=face_root, data_prefix='images',
                pipeline=LOAD + [dict(type='PackInputs', algorithm_keys=['has_landmarks'])])
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 32, 32)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        _build(data_root=face_root, data_prefix='nope')
    with pytest.raises(ValueError, match='missing_images must be one of'):
        _build(data_root=face_root, missing_images='ignore')
    with pytest.raises(ValueError, match='subset_fraction'):
        _build(data_root=face_root, subset_fraction=1.5)
    half = _build(data_root=face_root, data_prefix='images', subset_fraction=0.5)
    assert len(half) == 3 and half.num_listed_images == 6


def test_logs_counts(face_root, tmp_path, capsys):
    table = load_landmarks(osp.join(face_root, 'landmarks.npz'))
    keys = sorted(table)[:5]
    lm = str(tmp_path / 'five.npz')
    save_landmarks(lm, keys, np.stack([table[k][0] for k in keys]))
    logger = MMLogger.get_instance('test_face_folder_counts', log_level='INFO')
    messages = []
    handler_emit = logger.handlers[0].emit
    logger.handlers[0].emit = lambda record: (messages.append(record.getMessage()),
                                              handler_emit(record))
    try:
        MMLogger._instance_dict.move_to_end('test_face_folder_counts')
        _build(data_root=face_root, data_prefix='images', landmark_file=lm)
    finally:
        logger.handlers[0].emit = handler_emit
    text = '\n'.join(messages)
    assert '1 of 6 images have no landmarks' in text and 'kept without landmark loss' in text
    assert '6 images, 5 with landmarks' in text
