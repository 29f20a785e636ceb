# Copyright (c) mmfer contributors. All rights reserved.
"""The ``recordio`` mmengine file backend: '<rec>#<key>' paths read like files."""
import mmengine.fileio as fileio
import numpy as np
import pytest

from mmfer.datasets.recordio import IRHeader, RecordIOError, RecordIOWriter, pack_img
from mmfer.datasets.recordio_backend import (RecordIOBackend, record_path,
                                             split_record_path)
from mmfer.registry import TRANSFORMS


@pytest.fixture
def rec(tmp_path):
    img = (np.arange(8 * 8 * 3) % 251).astype(np.uint8).reshape(8, 8, 3)
    path = str(tmp_path / 'faces.rec')
    with RecordIOWriter(path, str(tmp_path / 'faces.idx')) as w:
        w.write_idx(3, pack_img(IRHeader(0, 1.0, 3, 0), img, img_fmt='.png'))
        w.write_idx(4, b'short')  # not even an IRHeader
    return path, img


def test_prefix_selects_the_backend_and_returns_the_image_bytes(rec):
    path, img = rec
    uri = record_path(path, 3)
    assert uri == f'recordio://{path}#3' and split_record_path(uri) == (path, 3)
    assert isinstance(fileio.get_file_backend(uri), RecordIOBackend)
    buf = fileio.get(uri)
    assert buf[:4] == b'\x89PNG'  # the IRHeader is stripped
    # the image loader reads records with no extra argument, and by backend name
    load = TRANSFORMS.build(dict(type='LoadFaceImage'))
    np.testing.assert_array_equal(load(dict(img_path=uri))['img'], img)
    by_name = TRANSFORMS.build(dict(type='LoadFaceImage',
                                    backend_args=dict(backend='recordio')))
    np.testing.assert_array_equal(by_name(dict(img_path=f'{path}#3'))['img'], img)


def test_plain_files_and_errors_name_the_path(rec, tmp_path):
    path, _ = rec
    backend = RecordIOBackend()
    (tmp_path / 'a.txt').write_text('hello')
    assert backend.get(str(tmp_path / 'a.txt')) == b'hello'
    assert backend.get_text(str(tmp_path / 'a.txt')) == 'hello'
    with pytest.raises(FileNotFoundError, match=r'faces\.rec#9: no record with key 9 in .*'
                       r'faces\.idx'):
        backend.get(f'{path}#9')
    with pytest.raises(FileNotFoundError, match=r'gone\.rec does not exist'):
        backend.get(str(tmp_path / 'gone.rec#1'))
    with pytest.raises(RecordIOError, match=r'faces\.rec#4: record of 5 bytes is shorter'):
        backend.get(f'{path}#4')
    with pytest.raises(ValueError, match='must be an integer'):
        split_record_path('recordio://x.rec#abc')
    with pytest.raises(ValueError, match='not a RecordIO record path'):
        split_record_path('recordio://x.rec')
    # without the prefix or the backend, a record path is a missing file with a hint
    load = TRANSFORMS.build(dict(type='LoadFaceImage'))
    with pytest.raises(FileNotFoundError, match=r'a RecordIO record\? write it recordio://'):
        load(dict(img_path=f'{path}#3'))
