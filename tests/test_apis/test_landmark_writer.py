# Copyright (c) mmfer contributors. All rights reserved.
import os

import numpy as np
import pytest

from mmfer.apis import LandmarkFileWriter
from mmfer.datasets import load_landmarks


def _kp(v):
    return np.full((68, 2), v, np.float32), np.full(68, 0.5, np.float32)


def test_writer_resumes_from_part_files_and_refuses_to_overwrite(tmp_path):
    out = str(tmp_path / 'lm.npz')
    # a run of two processes that was killed after saving its progress
    for rank, keys in ((0, ['a', 'c']), (1, ['b'])):
        w = LandmarkFileWriter(out, rank=rank, resume=rank > 0)
        for k in keys:
            w.add(k, *_kp(ord(k)))
        w.flush()
    assert sorted(os.listdir(tmp_path)) == ['lm.npz.part0.npz', 'lm.npz.part1.npz']
    with pytest.raises(FileExistsError, match='pass --resume'):
        LandmarkFileWriter(out)
    w = LandmarkFileWriter(out, rank=0, resume=True)
    assert sorted(w.done()) == ['a', 'b', 'c'] and sorted(w.table) == ['a', 'c']
    w.add('d', *_kp(4))
    w.flush()
    table = w.merge(order=['d', 'c', 'b', 'a'])
    assert os.listdir(tmp_path) == ['lm.npz']  # parts merged away
    with np.load(out) as data:
        assert data['img_paths'].tolist() == ['d', 'c', 'b', 'a']
    loaded = load_landmarks(out)
    assert sorted(loaded) == sorted(table) == ['a', 'b', 'c', 'd']
    np.testing.assert_array_equal(loaded['b'][0], _kp(ord('b'))[0])
    with pytest.raises(FileExistsError, match='pass --resume'):
        LandmarkFileWriter(out)
    # resume on top of a finished file keeps its entries
    w = LandmarkFileWriter(out, resume=True)
    w.add('e', *_kp(5))
    w.flush()
    assert sorted(w.merge()) == ['a', 'b', 'c', 'd', 'e']
