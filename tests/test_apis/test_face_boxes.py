# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.apis import BoxFile, FirstBox, WholeImageBox, build_box_source, read_bbox_file


def test_read_bbox_file_and_errors(tmp_path):
    path = tmp_path / 'boxes.txt'
    path.write_text('# comment\n\na.jpg 0 0 10 10\nsub/b.jpg,1,2,30,40\n')
    boxes = read_bbox_file(str(path))
    assert sorted(boxes) == ['a.jpg', 'sub/b.jpg']
    np.testing.assert_array_equal(boxes['sub/b.jpg'], [1, 2, 30, 40])
    path.write_text('a.jpg 0 0 10 10\nb.jpg 0 0 10\n')
    with pytest.raises(ValueError, match=r'boxes\.txt:2: expected "relpath x1 y1 x2 y2"'):
        read_bbox_file(str(path))
    path.write_text('a.jpg 5 5 5 10\n')
    with pytest.raises(ValueError, match=r'boxes\.txt:1: empty box'):
        read_bbox_file(str(path))
    path.write_text('a.jpg 0 0 nan 10\n')
    with pytest.raises(ValueError, match=r'boxes\.txt:1: empty box'):
        read_bbox_file(str(path))
    path.write_text('a.jpg 0 0 10 10\na.jpg 1 1 10 10\n')
    with pytest.raises(ValueError, match=r'boxes\.txt:2: second box for a\.jpg'):
        read_bbox_file(str(path))


def test_box_sources(tmp_path):
    img = np.zeros((50, 60, 3), np.uint8)
    np.testing.assert_array_equal(WholeImageBox()('x', img), [0, 0, 60, 50])
    path = tmp_path / 'boxes.txt'
    path.write_text('a.jpg 1 2 30 40\n')
    assert BoxFile(str(path))('b.jpg', img) is None
    # without a box file or --aligned there is no face box: refused, never guessed
    with pytest.raises(ValueError, match=r'no face boxes: pass --bbox-file.*or --aligned'):
        build_box_source()
    assert isinstance(build_box_source(aligned=True), WholeImageBox)
    only_file = build_box_source(str(path))
    assert isinstance(only_file, BoxFile) and only_file('b.jpg', img) is None
    both = build_box_source(str(path), aligned=True)
    assert isinstance(both, FirstBox)
    np.testing.assert_array_equal(both('a.jpg', img), [1, 2, 30, 40])  # the file first
    np.testing.assert_array_equal(both('b.jpg', img), [0, 0, 60, 50])
