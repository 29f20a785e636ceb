# Copyright (c) mmfer contributors. All rights reserved.
"""The expression x identity picture of the generator."""
import numpy as np
import pytest

from mmfer.datasets.synthetic import SyntheticFaceGenerator
from mmfer.datasets.synthetic.grid import LABEL_WIDTH, face_grid


def test_face_grid_layout():
    grid = face_grid(num=9, seed=0, image_size=32, zoom=1, landmarks=False)
    assert grid.shape == (8 * 32, LABEL_WIDTH + 2 * 32, 3) and grid.dtype == np.uint8
    # row 2 (sadness), column 1 is person 1's face as the generator renders it
    face = SyntheticFaceGenerator(32, seed=0).render(1, 'sadness', 1.0, seed=2 * 2 + 1)
    assert np.array_equal(grid[64:96, LABEL_WIDTH + 32:LABEL_WIDTH + 64], face['img'])
    marked = face_grid(num=9, seed=0, image_size=32, zoom=1, landmarks=True)
    assert (marked != grid).any() and (marked[:, :LABEL_WIDTH] == grid[:, :LABEL_WIDTH]).all()
    with pytest.raises(ValueError, match='num and zoom'):
        face_grid(num=0)
