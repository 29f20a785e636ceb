# Copyright (c) mmfer contributors. All rights reserved.
"""MS1MRecordIO lists the image records of an InsightFace .rec; LoadFaceImage reads them."""
import os.path as osp
import pickle

import numpy as np
import pytest

from mmfer.datasets import save_landmarks
from mmfer.datasets.recordio import IRHeader, RecordIOWriter, pack, pack_img
from mmfer.registry import DATASETS

LOAD = [dict(type='LoadFaceImage')]


def _faces(n, size=32):
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    gen = SyntheticFaceGenerator(image_size=size, seed=0)
    return list(gen.sample(n, seed=1, num_identities=3))


def _write_insightface(folder, faces, extra=()):
    """The InsightFace layout: record 0 = header (flag 2, label = (first id record, end)),
    then the images (keys 1..n; ``extra`` = (key, payload bytes) replaces an image)."""
    rec, idx = str(folder / 'train.rec'), str(folder / 'train.idx')
    n = len(faces)
    extra = dict(extra)
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(0, pack(IRHeader(2, [n + 1, n + 4], 0, 0), b''))
        for i, face in enumerate(faces, 1):
            payload = extra.get(i) or pack_img(IRHeader(0, float(face['identity']), i, 0),
                                               face['img'], img_fmt='.png')
            w.write_idx(i, payload)
        for j in range(3):  # identity records: (first, last) image keys
            w.write_idx(n + 1 + j, pack(IRHeader(2, [1, 2], 0, 0), b''))
    return rec, idx


def test_lists_records_and_landmarks_and_loads_through_the_pipeline(tmp_path):
    faces = _faces(5)
    rec, _ = _write_insightface(tmp_path, faces)
    save_landmarks(str(tmp_path / 'lm.npz'), [f'train.rec#{k}' for k in (1, 2, 4)],
                   np.stack([faces[k - 1]['keypoints'] for k in (1, 2, 4)]))
    listed = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path),
                                 landmark_file='lm.npz'))
    assert len(listed) == 5 and listed.num_without_landmarks == 2  # header/identity skipped
    info = listed[1]  # no pipeline: the dataset lists, it decodes nothing
    assert info['img_path'] == f'recordio://{rec}#2' and 'img' not in info
    np.testing.assert_array_equal(info['keypoints'][0], faces[1]['keypoints'])
    assert listed[2]['has_landmarks'] is False

    ds = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path),
                             landmark_file='lm.npz', pipeline=LOAD))
    for i in range(5):
        np.testing.assert_array_equal(ds[i]['img'], faces[i]['img'])  # lossless PNG payload
    clone = pickle.loads(pickle.dumps(ds))  # spawn-started workers pickle the dataset
    np.testing.assert_array_equal(clone[3]['img'], faces[3]['img'])
    with pytest.raises(ValueError, match='takes no ann_file'):
        DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path), ann_file='x.txt'))


def test_corrupt_record_error_or_skip_and_count(tmp_path):
    faces = _faces(3)
    _write_insightface(tmp_path, faces, extra={2: pack(IRHeader(0, 1.0, 2, 0), b'garbage')})
    strict = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path), pipeline=LOAD))
    with pytest.raises(ValueError, match=r'train\.rec#2 is corrupt or not an image'):
        strict[1]
    load = dict(type='LoadFaceImage', ignore_empty=True)
    lenient = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path),
                                  pipeline=[load]))
    # another random record is drawn (maybe the corrupt one again: each retry is counted)
    assert lenient[1]['img_path'].endswith(('#1', '#3'))
    assert lenient.pipeline.transforms[0].num_skipped >= 1


def test_random_subset_is_seeded_spread_counted_and_logged(tmp_path):
    """The paper's "10% MS1M": a seeded random subset, not the first identities."""
    faces = _faces(40, size=16)
    _write_insightface(tmp_path, faces)
    full = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path)))
    a = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path), subset_fraction=0.1))
    b = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path), subset_fraction=0.1))
    c = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path), subset_fraction=0.1,
                            subset_seed=1))
    paths = [[d.get_data_info(i)['img_path'] for i in range(len(d))] for d in (a, b, c)]
    assert len(full) == 40 and full.num_listed_images == 40
    assert len(a) == 4 and a.num_listed_images == 40
    assert paths[0] == paths[1] and paths[0] != paths[2]  # seeded
    keys = [int(p.rsplit('#', 1)[1]) for p in paths[0]]
    assert keys == sorted(keys) and keys != [1, 2, 3, 4]  # listing order, not the first N
    assert set(paths[0]) <= {full.get_data_info(i)['img_path'] for i in range(40)}
    with pytest.raises(ValueError, match=r'subset_fraction must be in \(0, 1\]'):
        DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path), subset_fraction=0))


def test_subset_is_logged(tmp_path):
    from mmengine.logging import MMLogger
    faces = _faces(20, size=16)
    _write_insightface(tmp_path, faces)
    logger = MMLogger.get_instance('test_ms1m_subset_log', log_level='INFO')
    messages = []
    emit = logger.handlers[0].emit
    logger.handlers[0].emit = lambda record: (messages.append(record.getMessage()), emit(record))
    try:
        MMLogger._instance_dict.move_to_end('test_ms1m_subset_log')
        DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path), subset_fraction=0.25,
                            subset_seed=3))
    finally:
        logger.handlers[0].emit = emit
    assert any('random 25% subset (subset_seed=3): 5 of 20 listed images' in m
               for m in messages), messages
    assert osp.isfile(tmp_path / 'train.idx')
