# Copyright (c) mmfer contributors. All rights reserved.
import os

import cv2
import numpy as np
import pytest

from mmfer.datasets import RAFDB
from mmfer.registry import DATASETS

LINES = ['train_00001.jpg 5', 'train_00002.jpg 1', 'test_0001.jpg 7', 'train_00003.jpg 4',
         'test_0002.jpg 2']


def _write(root, lines=LINES, skip_image=None, original=False):
    os.makedirs(root / 'EmoLabel', exist_ok=True)
    (root / 'EmoLabel' / 'list_patition_label.txt').write_text('\n'.join(lines) + '\n')
    for i, line in enumerate(lines):
        name = line.split()[0]
        if name == skip_image:
            continue
        img = np.full((20, 20, 3), 10 * i, np.uint8)
        stem = name[:-4]
        for sub, fname in (('aligned', f'{stem}_aligned.jpg'), ('original', name)):
            os.makedirs(root / 'Image' / sub, exist_ok=True)
            cv2.imwrite(str(root / 'Image' / sub / fname), img)


def test_rafdb_train_test_labels(tmp_path):
    _write(tmp_path)
    train = DATASETS.build(dict(type='RAFDB', data_root=str(tmp_path), split='train',
                                pipeline=[]))
    test = DATASETS.build(dict(type='RAFDB', data_root=str(tmp_path), split='test',
                               pipeline=[]))
    assert len(train) == 3 and len(test) == 2
    assert train.metainfo['classes'] == ('Surprise', 'Fear', 'Disgust', 'Happiness',
                                         'Sadness', 'Anger', 'Neutral')
    # file labels 5, 1, 4 -> Sadness, Surprise, Happiness
    assert [train.get_data_info(i)['gt_label'] for i in range(3)] == [4, 0, 3]
    assert [test.get_data_info(i)['gt_label'] for i in range(2)] == [6, 1]
    info = train.get_data_info(0)
    assert info['img_path'].endswith('Image/aligned/train_00001_aligned.jpg')
    assert os.path.isfile(info['img_path'])
    orig = RAFDB(str(tmp_path), split='test', aligned=False)
    assert orig.get_data_info(1)['img_path'].endswith('Image/original/test_0002.jpg')
    # the pipeline loads real images
    loaded = RAFDB(str(tmp_path), split='train',
                   pipeline=[dict(type='LoadFaceImage'), dict(type='PackInputs')])[1]
    assert tuple(loaded['inputs'].shape) == (3, 20, 20)
    assert loaded['data_samples'].gt_label.item() == 0


def test_rafdb_missing_images_and_bad_lines(tmp_path):
    _write(tmp_path, skip_image='train_00002.jpg')
    with pytest.raises(FileNotFoundError, match='train_00002_aligned.jpg'):
        RAFDB(str(tmp_path), split='train')
    ds = RAFDB(str(tmp_path), split='train', skip_missing=True)
    assert len(ds) == 2
    _write(tmp_path / 'bad', lines=LINES[:2] + ['train_00009.jpg 8'])
    with pytest.raises(ValueError, match=r'list_patition_label.txt:3: label 8'):
        RAFDB(str(tmp_path / 'bad'), split='train')
    with pytest.raises(ValueError, match='split'):
        RAFDB(str(tmp_path), split='val')


def test_rafdb_reads_synthetic_writer(tmp_path):
    writers = pytest.importorskip('mmfer.datasets.synthetic.writers')
    info = writers.write_rafdb(str(tmp_path), num_train=14, num_test=7, image_size=32)
    train = RAFDB(str(tmp_path), split='train')
    test = RAFDB(str(tmp_path), split='test')
    assert len(train) == info['num_train'] == 14 and len(test) == 7
    labels = {int(line.split()[1]) - 1 for line in
              open(tmp_path / 'EmoLabel' / 'list_patition_label.txt')
              if line.startswith('train')}
    assert set(train.get_gt_labels().tolist()) == labels
