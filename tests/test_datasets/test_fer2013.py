# Copyright (c) mmfer contributors. All rights reserved.
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmfer.datasets.fer2013 import convert_fer2013, file_sha256
from mmfer.registry import DATASETS


def _write(path, rows):
    lines = ['emotion,pixels,Usage']
    for label, pix, usage in rows:
        lines.append(f'{label},{" ".join(str(int(v)) for v in np.ravel(pix))},{usage}')
    path.write_text('\n'.join(lines) + '\n')


def _build(root, split='train', **kw):
    return DATASETS.build(dict(type='FER2013', data_root=str(root), split=split, **kw))


def test_fer2013_splits_labels_and_pixels(tmp_path):
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (48, 48)) for _ in range(6)]
    usages = ['Training', 'Training', 'PublicTest', 'Training', 'PrivateTest', 'PrivateTest']
    labels = [3, 0, 6, 5, 1, 2]
    _write(tmp_path / 'fer2013.csv', list(zip(labels, imgs, usages)))
    manifest = convert_fer2013(str(tmp_path / 'fer2013.csv'), progress=False)
    assert manifest['rows'] == 6 and manifest['usage'] == {'Training': 3, 'PublicTest': 1,
                                                           'PrivateTest': 2}
    on_disk = json.loads((tmp_path / 'fer2013_images' / 'manifest.json').read_text())
    assert on_disk['csv_sha256'] == file_sha256(str(tmp_path / 'fer2013.csv'))
    train, val, test = _build(tmp_path), _build(tmp_path, 'val'), _build(tmp_path, 'test')
    assert (len(train), len(val), len(test)) == (3, 1, 2)
    assert train.get_gt_labels().tolist() == [3, 0, 5]
    assert test.get_gt_labels().tolist() == [1, 2]
    assert train.metainfo['classes'][3] == 'Happy'
    info = train.get_data_info(2)
    assert info['csv_row'] == 4 and info['img_path'].endswith('Training/00004.png')
    grey = cv2.imread(info['img_path'], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(grey, imgs[3])  # lossless PNG of the CSV row
    loaded = _build(tmp_path, 'val', pipeline=[dict(type='LoadFaceImage')])[0]
    assert loaded['img'].shape == (48, 48, 3)
    np.testing.assert_array_equal(loaded['img'][..., 0], imgs[2])


def test_fer2013_dataset_writes_nothing_and_needs_the_converter(tmp_path):
    _write(tmp_path / 'fer2013.csv', [(3, np.zeros(48 * 48), 'Training')])
    with pytest.raises(FileNotFoundError, match=r'no converted images.*'
                       r'tools/dataset_converters/fer2013\.py'):
        _build(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ['fer2013.csv']  # nothing written while loading


def test_fer2013_edited_csv_is_refused_not_paired_with_old_images(tmp_path):
    """The old dataset decoded rows once into PNGs and reused any existing PNG: after
    editing a row (new label, new pixels) it returned the new label with the OLD image."""
    csv_path = tmp_path / 'fer2013.csv'
    bright = np.full((48, 48), 200)
    _write(csv_path, [(3, bright, 'Training'), (4, bright, 'Training')])
    convert_fer2013(str(csv_path), progress=False)
    ds = _build(tmp_path, pipeline=[dict(type='LoadFaceImage')])
    assert ds[1]['gt_label'] == 4 and ds[1]['img'].mean() == pytest.approx(200)
    # edit row 2: label 0, all-black pixels (same number of rows)
    _write(csv_path, [(3, bright, 'Training'), (0, np.zeros((48, 48)), 'Training')])
    with pytest.raises(ValueError, match=r'fer2013\.csv changed since its images.*re-run'):
        _build(tmp_path, pipeline=[dict(type='LoadFaceImage')])
    convert_fer2013(str(csv_path), progress=False)  # as the error says
    ds = _build(tmp_path, pipeline=[dict(type='LoadFaceImage')])
    assert ds[1]['gt_label'] == 0 and ds[1]['img'].mean() == 0
    # a re-conversion replaces the folder: no image of the earlier CSV survives
    _write(csv_path, [(3, bright, 'PublicTest')])
    convert_fer2013(str(csv_path), progress=False)
    assert sorted(os.listdir(tmp_path / 'fer2013_images')) == ['PublicTest', 'manifest.json']


def test_fer2013_bad_rows_name_file_and_line(tmp_path):
    cases = [([(3, np.zeros(48 * 47), 'Training')], r'fer2013\.csv:2: expected 2304 pixel'),
             ([(3, np.full(48 * 48, 300), 'Training')],
              r'fer2013\.csv:2: pixel values must be in 0-255, got 2304 outside \(e\.g\. 300\)'),
             ([(9, np.zeros(48 * 48), 'Training')], r'fer2013\.csv:2: emotion 9 outside 0-6'),
             ([(1, np.zeros(48 * 48), 'Train')], r"fer2013\.csv:2: unknown Usage 'Train'")]
    for i, (rows, match) in enumerate(cases):
        root = tmp_path / str(i)
        root.mkdir()
        _write(root / 'fer2013.csv', rows)
        with pytest.raises(ValueError, match=match):
            convert_fer2013(str(root / 'fer2013.csv'), progress=False)
        assert sorted(os.listdir(root)) == ['fer2013.csv']  # nothing written
    # the dataset checks labels and Usage itself (before the manifest)
    with pytest.raises(ValueError, match=r'fer2013\.csv:2: emotion 9 outside 0-6'):
        _build(tmp_path / '2')
    (tmp_path / 'h.csv').write_text('emotion,pixels\n')
    with pytest.raises(ValueError, match=r'h\.csv:1: expected header'):
        convert_fer2013(str(tmp_path / 'h.csv'), progress=False)


def test_fer2013_converter_cli(tmp_path, repo_root):
    _write(tmp_path / 'fer2013.csv', [(2, np.ones(48 * 48), 'PrivateTest')])
    proc = subprocess.run([sys.executable, 'tools/dataset_converters/fer2013.py',
                           str(tmp_path / 'fer2013.csv'), '--img-dir', str(tmp_path / 'png')],
                          cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f'wrote 1 images (1 PrivateTest) and manifest.json to {tmp_path / "png"}' in \
        proc.stdout
    assert _build(tmp_path, 'test', img_dir=str(tmp_path / 'png')).get_gt_labels().tolist() == [2]
