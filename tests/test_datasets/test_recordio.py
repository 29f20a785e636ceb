# Copyright (c) mmfer contributors. All rights reserved.
import pickle
import struct

import numpy as np
import pytest

from mmfer.datasets.recordio import (MAGIC, IRHeader, RecordIOError, RecordIOReader,
                                     RecordIOWriter, insightface_image_keys, pack, pack_img,
                                     read_index, unpack)


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


def test_index_is_compact_sorted_and_names_bad_lines(tmp_path):
    """read_index: numpy arrays (16 bytes a record), the dict interface, and line-numbered
    errors for malformed content (re-read line by line)."""
    idx = tmp_path / 'a.idx'
    idx.write_text('7\t64\n2\t0\n5\t32\n')
    index = read_index(str(idx))
    assert index.keys.dtype == np.int64 and index.keys.tolist() == [2, 5, 7]
    assert [index[k] for k in (2, 5, 7)] == [0, 32, 64] and len(index) == 3
    assert 5 in index and 3 not in index and 'x' not in index and list(index) == [2, 5, 7]
    with pytest.raises(KeyError):
        index[3]
    idx.write_text('1\t0\n\n2\t8\n')  # a blank line: the line-by-line path accepts it
    assert read_index(str(idx)).keys.tolist() == [1, 2]
    idx.write_text('1\t0\n2\t8\n1\t16\n')
    with pytest.raises(RecordIOError, match=r'a\.idx:3: duplicated key 1'):
        read_index(str(idx))
    idx.write_text('1\t0\n2 8 9\n3\t16\n')
    with pytest.raises(RecordIOError, match=r'a\.idx:2: expected'):
        read_index(str(idx))


def test_insightface_image_keys_skip_header_and_identity_records(tmp_path):
    faces = _faces(4)
    rec, _ = _write_insightface(tmp_path, faces)
    reader = RecordIOReader(rec)
    assert insightface_image_keys(reader) == [1, 2, 3, 4]
    assert reader.keys == list(range(8))
    h, img = unpack(reader.read_idx(2))
    assert h.label == float(faces[1]['identity']) and img[:4] == b'\x89PNG'


def test_reader_corrupt_records(tmp_path):
    rec, idx = str(tmp_path / 'x.rec'), str(tmp_path / 'x.idx')
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(0, b'0123')
        w.write_idx(1, b'4567')
    r = RecordIOReader(rec)
    assert r.read_idx(1) == b'4567'
    with pytest.raises(KeyError, match=r'x\.idx: no record with key 9'):
        r.read_idx(9)
    clone = pickle.loads(pickle.dumps(r))  # spawn-started workers pickle readers
    assert clone.read_idx(0) == b'0123'

    # a wrong offset in the index is a clear error naming the file and the byte
    with open(idx, 'a') as f:
        f.write('3\t5\n')
    r = RecordIOReader(rec)
    with pytest.raises(RecordIOError, match=r'x\.rec: bad magic .* at byte 5'):
        r.read_idx(3)
    with open(idx, 'a') as f:
        f.write('oops\n')
    with pytest.raises(RecordIOError, match=r'x\.idx:4: expected'):
        RecordIOReader(rec)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        RecordIOReader(str(tmp_path / 'none.rec'))
    # truncated file
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(0, b'0123456789abcdef')
    open(rec, 'r+b').truncate(20)
    with pytest.raises(RecordIOError, match=r'at byte 0 announces 16 bytes, only 12 left'):
        RecordIOReader(rec).read_idx(0)
