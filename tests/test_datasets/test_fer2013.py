# Copyright (c) mmfer contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from mmfer.registry import DATASETS


def _write(path, rows):
    lines = ['emotion,pixels,Usage']
    for label, pix, usage in rows:
        lines.append(f'{label},{" ".join(str(int(v)) for v in pix.reshape(-1))},{usage}')
    path.write_text('\n'.join(lines) + '\n')


def test_fer2013_splits_labels_and_pixels(tmp_path):
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (48, 48)) for _ in range(6)]
    usages = ['Training', 'Training', 'PublicTest', 'Training', 'PrivateTest', 'PrivateTest']
    labels = [3, 0, 6, 5, 1, 2]
    _write(tmp_path / 'fer2013.csv', list(zip(labels, imgs, usages)))
    build = lambda split: DATASETS.build(dict(type='FER2013', data_root=str(tmp_path),  # noqa
                                              split=split, pipeline=[]))
    train, val, test = build('train'), build('val'), build('test')
    assert (len(train), len(val), len(test)) == (3, 1, 2)
    assert train.get_gt_labels().tolist() == [3, 0, 5]
    assert test.get_gt_labels().tolist() == [1, 2]
    assert train.metainfo['classes'][3] == 'Happy'
    info = train.get_data_info(2)
    assert info['csv_row'] == 4
    grey = cv2.imread(info['img_path'], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(grey, imgs[3])  # lossless PNG of the CSV row
    loaded = DATASETS.build(dict(type='FER2013', data_root=str(tmp_path), split='val',
                                 pipeline=[dict(type='LoadFaceImage')]))[0]
    assert loaded['img'].shape == (48, 48, 3)


def test_fer2013_bad_rows(tmp_path):
    bad = tmp_path / 'a'
    bad.mkdir()
    _write(bad / 'fer2013.csv', [(3, np.zeros(48 * 47), 'Training')])
    with pytest.raises(ValueError, match=r'fer2013.csv:2: expected 2304'):
        DATASETS.build(dict(type='FER2013', data_root=str(bad), split='train'))
    bad2 = tmp_path / 'b'
    bad2.mkdir()
    _write(bad2 / 'fer2013.csv', [(9, np.zeros(48 * 48), 'Training')])
    with pytest.raises(ValueError, match=r'fer2013.csv:2: emotion 9'):
        DATASETS.build(dict(type='FER2013', data_root=str(bad2), split='train'))
