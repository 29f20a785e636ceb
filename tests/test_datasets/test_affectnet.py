# Copyright (c) mmfer contributors. All rights reserved.
import os

import cv2
import numpy as np
import pytest

from mmfer.datasets import AffectNet, LabelMapping, RAFDB
from mmfer.datasets.transforms import CropFaceBox
from mmfer.registry import DATASETS

HEADER = ('subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,'
          'expression,valence,arousal')


def _write(root, codes, split_file='training.csv', missing=()):
    lists = root / 'Manually_Annotated_file_lists'
    lists.mkdir(parents=True, exist_ok=True)
    rows = [HEADER]
    for i, code in enumerate(codes):
        name = f'{100 + i % 3}/img_{i}.jpg'
        pts = ';'.join(f'{10 + j % 20:.2f}' for j in range(136))
        va = (-2, -2) if code in (9, 10) else (round(0.1 * (i % 10) - 0.5, 3), 0.25)
        rows.append(f'{name},8,6,20,24,{pts},{code},{va[0]},{va[1]}')
        if name not in missing:
            path = root / 'Manually_Annotated_Images' / name
            os.makedirs(path.parent, exist_ok=True)
            img = np.zeros((40, 36, 3), np.uint8)
            img[6:30, 8:28] = 200  # the "face" inside the box
            cv2.imwrite(str(path), img)
    (lists / split_file).write_text('\n'.join(rows) + '\n')


CODES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 7, 3]


def test_affectnet_7_and_8_classes_with_drop_counts(tmp_path, monkeypatch):
    import mmfer.datasets.utils as dataset_utils
    logged = []
    monkeypatch.setattr(dataset_utils, 'print_log', lambda msg, **kw: logged.append(msg))
    _write(tmp_path, CODES)
    ds7 = DATASETS.build(dict(type='AffectNet', data_root=str(tmp_path), split='train',
                              pipeline=[]))
    ds8 = AffectNet(str(tmp_path), split='train', num_classes=8)
    assert len(ds7) == 9  # 14 rows - 3 special (8, 9, 10) - 2 contempt
    assert len(ds8) == 11
    assert ds7.get_gt_labels().tolist() == [0, 1, 2, 3, 4, 5, 6, 1, 3]
    assert ds8.metainfo['classes'][-1] == 'Contempt' and len(ds7.metainfo['classes']) == 7
    out = logged[0]
    assert 'kept 9 samples; dropped 5' in out
    assert '2 Contempt' in out and '1 code 10 (No-Face)' in out
    info = ds7.get_data_info(1)
    assert info['valence'] == pytest.approx(-0.4) and info['arousal'] == pytest.approx(0.25)
    np.testing.assert_allclose(info['gt_va'], [-0.4, 0.25])
    np.testing.assert_allclose(info['face_bbox'], [8, 6, 28, 30])
    assert 'gt_keypoints' not in info
    lm = AffectNet(str(tmp_path), with_landmarks=True).get_data_info(0)['gt_keypoints']
    assert lm.shape == (68, 2) and lm[0, 0] == pytest.approx(10) and lm[0, 1] == 11


def test_affectnet_face_box_crop_and_val_split(tmp_path):
    _write(tmp_path, [1, 2], split_file='validation.csv')
    ds = AffectNet(str(tmp_path), split='val', with_landmarks=True,
                   pipeline=[dict(type='LoadFaceImage'), dict(type='CropFaceBox')])
    out = ds[0]
    assert out['img'].shape == (24, 20, 3)
    assert out['img'].min() > 150  # exactly the bright box (JPEG noise aside)
    np.testing.assert_allclose(out['gt_keypoints'][0], [2, 5])
    precropped = AffectNet(str(tmp_path), split='val', crop_face=False,
                           pipeline=[dict(type='LoadFaceImage'), dict(type='CropFaceBox')])
    assert precropped[0]['img'].shape == (40, 36, 3)
    with pytest.raises(ValueError, match='outside'):
        CropFaceBox()(dict(img=np.zeros((10, 10, 3)), face_bbox=np.array([50, 50, 60, 60])))


def test_affectnet_errors(tmp_path):
    _write(tmp_path, [1, 2, 3], missing=('101/img_1.jpg', ))
    with pytest.raises(FileNotFoundError, match='img_1.jpg'):
        AffectNet(str(tmp_path))
    assert len(AffectNet(str(tmp_path), skip_missing=True)) == 2
    csv_path = tmp_path / 'Manually_Annotated_file_lists' / 'training.csv'
    lines = csv_path.read_text().splitlines()
    fields = lines[3].split(',')
    fields[6] = '12'
    lines[3] = ','.join(fields)
    csv_path.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'training.csv:4: expression code 12'):
        AffectNet(str(tmp_path), skip_missing=True)


def test_label_mapping_affectnet_to_rafdb():
    m = LabelMapping.from_classes(AffectNet.METAINFO_8['classes'], RAFDB.METAINFO['classes'],
                                  drop=['Contempt'])
    # AffectNet: Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt
    # RAF-DB:    Surprise, Fear, Disgust, Happiness, Sadness, Anger, Neutral
    np.testing.assert_array_equal(m.lut, [6, 3, 4, 0, 1, 2, 5, -1])
    np.testing.assert_array_equal(m.map_labels([0, 1, 6]), [6, 3, 5])
    with pytest.raises(ValueError, match='Contempt'):
        m.map_labels([7])
    assert m.map_labels([7, 0], on_dropped='keep').tolist() == [-1, 6]
    scores = np.arange(16, dtype=np.float32).reshape(2, 8)
    mapped = m.map_scores(scores)
    np.testing.assert_array_equal(mapped[0], [3, 4, 5, 1, 2, 6, 0])
    with pytest.raises(ValueError, match='neither mapped nor dropped|no match'):
        LabelMapping.from_classes(AffectNet.METAINFO_8['classes'], RAFDB.METAINFO['classes'])
    # round trip RAF-DB -> AffectNet-7 -> RAF-DB is the identity
    back = LabelMapping.from_classes(RAFDB.METAINFO['classes'], AffectNet.METAINFO_7['classes'])
    np.testing.assert_array_equal(m.map_labels(back.map_labels(np.arange(7))), np.arange(7))
