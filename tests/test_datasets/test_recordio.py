# Copyright (c) mmfer contributors. All rights reserved.
import pickle
import struct

import numpy as np
import pytest

from mmfer.datasets import save_landmarks
from mmfer.datasets.recordio import (MAGIC, IRHeader, RecordIOError, RecordIOReader,
                                     RecordIOWriter, pack, pack_img, unpack)
from mmfer.registry import DATASETS


def _faces(n, size=32):
    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    gen = SyntheticFaceGenerator(image_size=size, seed=0)
    return list(gen.sample(n, seed=1, num_identities=3))


def _write_insightface(folder, faces):
    """The InsightFace layout: record 0 = header (flag 2, label = (first id record, end))."""
    rec, idx = str(folder / 'train.rec'), str(folder / 'train.idx')
    n = len(faces)
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(0, pack(IRHeader(2, [n + 1, n + 4], 0, 0), b''))
        for i, face in enumerate(faces, 1):
            w.write_idx(i, pack_img(IRHeader(0, float(face['identity']), i, 0), face['img'],
                                    img_fmt='.png'))
        for j in range(3):  # identity records: (first, last) image keys
            w.write_idx(n + 1 + j, pack(IRHeader(2, [1, 2], 0, 0), b''))
    return rec, idx


def test_byte_layout_matches_dmlc_recordio(tmp_path):
    rec, idx = str(tmp_path / 'a.rec'), str(tmp_path / 'a.idx')
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(5, b'abcdef')  # 6 bytes -> padded to 8
        w.write_idx(9, b'')
    raw = open(rec, 'rb').read()
    assert raw[:8] == struct.pack('<II', MAGIC, 6) and raw[8:14] == b'abcdef'
    assert raw[14:16] == b'\x00\x00' and raw[16:24] == struct.pack('<II', MAGIC, 0)
    assert len(raw) == 24
    assert open(idx).read() == '5\t0\n9\t16\n'


def test_payload_containing_the_magic_is_split_and_rejoined(tmp_path):
    m = struct.pack('<I', MAGIC)
    payloads = [b'1234' + m + b'5678' + m + b'9', m, m + m, b'xy' + m + b'zw']  # last unaligned
    rec, idx = str(tmp_path / 'b.rec'), str(tmp_path / 'b.idx')
    with RecordIOWriter(rec, idx) as w:
        for k, p in enumerate(payloads):
            w.write_idx(k, p)
    raw = open(rec, 'rb').read()
    # first record: parts with cflag 1 (len 4), 2 (len 4), 3 (len 1)
    assert struct.unpack('<II', raw[:8]) == (MAGIC, (1 << 29) | 4)
    assert struct.unpack('<II', raw[12:20]) == (MAGIC, (2 << 29) | 4)
    assert struct.unpack('<II', raw[24:32]) == (MAGIC, (3 << 29) | 1)
    r = RecordIOReader(rec, idx)
    assert [r.read_idx(k) for k in range(4)] == payloads


def test_irheader_pack_unpack():
    h, s = unpack(pack(IRHeader(0, 3.0, 7, 9), b'img'))
    assert (h.flag, h.label, h.id, h.id2, s) == (0, 3.0, 7, 9, b'img')
    h, s = unpack(pack(IRHeader(0, [1.0, 2.5, -1.0], 1, 0), b'xyz'))
    assert h.flag == 3 and h.label.tolist() == [1.0, 2.5, -1.0] and s == b'xyz'
    with pytest.raises(RecordIOError, match='shorter than an IRHeader'):
        unpack(b'short')


def test_ms1m_dataset_reads_images_landmarks_and_forks(tmp_path):
    faces = _faces(5)
    _write_insightface(tmp_path, faces)
    save_landmarks(str(tmp_path / 'lm.npz'), [f'train.rec#{k}' for k in (1, 2, 4)],
                   np.stack([faces[k - 1]['keypoints'] for k in (1, 2, 4)]))
    ds = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path),
                             landmark_file='lm.npz'))
    assert len(ds) == 5 and ds.num_without_landmarks == 2  # header + identity records skipped
    for i in range(5):
        item = ds[i]
        assert item['img_path'] == f'train.rec#{i + 1}'
        np.testing.assert_array_equal(item['img'], faces[i]['img'])  # lossless PNG payload
    np.testing.assert_array_equal(ds[3]['keypoints'][0], faces[3]['keypoints'])
    assert ds[2]['has_landmarks'] is False
    clone = pickle.loads(pickle.dumps(ds))  # spawn-started workers pickle the dataset
    np.testing.assert_array_equal(clone[1]['img'], faces[1]['img'])


def test_plain_recordio_without_header_and_corrupt_records(tmp_path):
    rec, idx = str(tmp_path / 'x.rec'), str(tmp_path / 'x.idx')
    yy, xx = np.mgrid[0:16, 0:16]
    img = np.stack([xx * 16, yy * 16, (xx + yy) * 8], -1).astype(np.uint8)  # smooth
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(0, pack_img(IRHeader(0, 0.0, 0, 0), img, img_fmt='.png'))
        w.write_idx(1, pack(IRHeader(0, 1.0, 1, 0), b'garbage bytes'))
        w.write_idx(2, pack_img(IRHeader(0, 2.0, 2, 0), img, quality=90))
    ds = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path), rec_file='x.rec'))
    assert len(ds) == 3 and ds[0]['img'].shape == (16, 16, 3)
    assert np.abs(ds[2]['img'].astype(int) - img).mean() < 4  # JPEG, quality 90
    with pytest.raises(ValueError, match=r'x\.rec#1 is corrupt or not an image'):
        ds[1]
    lenient = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path),
                                  rec_file='x.rec', bad_images='skip'))
    # another random record is drawn (maybe the corrupt one again: each retry is counted)
    assert lenient[1]['img_path'] in ('x.rec#0', 'x.rec#2') and lenient.num_skipped_images >= 1

    # a wrong offset in the index is a clear error naming the file and the byte
    with open(idx, 'a') as f:
        f.write('3\t5\n')
    r = RecordIOReader(rec)
    with pytest.raises(RecordIOError, match=r'x\.rec: bad magic .* at byte 5'):
        r.read_idx(3)
    with open(idx, 'a') as f:
        f.write('oops\n')
    with pytest.raises(RecordIOError, match=r'x\.idx:5: expected'):
        RecordIOReader(rec)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        RecordIOReader(str(tmp_path / 'none.rec'))
    # truncated file
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(0, b'0123456789abcdef')
    open(rec, 'r+b').truncate(20)
    with pytest.raises(RecordIOError, match=r'at byte 0 announces 16 bytes, only 12 left'):
        RecordIOReader(rec).read_idx(0)
