# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.registry import TRANSFORMS


def _face(w=40, h=30):
    img = np.arange(h * w * 3, dtype=np.int64).reshape(h, w, 3) % 251
    kpts = np.array([[5.0, 6.0], [30.5, 20.25], [39.0, 29.0]], np.float32)
    return dict(img=img.astype(np.uint8), gt_keypoints=kpts, img_path='x.jpg')


def test_face_random_crop_moves_landmarks_with_the_window():
    crop = TRANSFORMS.build(dict(type='FaceRandomCrop', crop_size=(24, 20), seed=3))
    offsets = set()
    for _ in range(200):
        r = _face()
        src = r['img'].copy()
        r = crop.transform(r)
        x0, y0, x1, y1 = r['crop_bbox']
        offsets.add((x0, y0))
        assert (x1 - x0, y1 - y0) == (24, 20) and r['img'].shape == (20, 24, 3)
        assert r['img_shape'] == (20, 24)
        np.testing.assert_array_equal(r['img'], src[y0:y1, x0:x1])
        np.testing.assert_allclose(r['gt_keypoints'],
                                   _face()['gt_keypoints'] - np.array([x0, y0]))
    xs, ys = zip(*offsets)
    # uniform over every position the window fits: 0..16 x 0..10, both ends reached
    assert min(xs) == 0 and max(xs) == 16 and min(ys) == 0 and max(ys) == 10


def test_face_random_crop_mmpose_keypoints_and_errors():
    crop = TRANSFORMS.build(dict(type='FaceRandomCrop', crop_size=40, seed=0))
    r = dict(img=np.zeros((40, 40, 3), np.uint8), keypoints=np.ones((1, 3, 2), np.float32))
    r = crop.transform(r)
    assert r['crop_bbox'] == (0, 0, 40, 40) and r['keypoints'].shape == (1, 3, 2)
    with pytest.raises(ValueError, match='larger than the image 40x30.*x.jpg'):
        TRANSFORMS.build(dict(type='FaceRandomCrop', crop_size=32)).transform(_face())
    with pytest.raises(ValueError, match='crop_size'):
        TRANSFORMS.build(dict(type='FaceRandomCrop', crop_size=0))
    assert 'crop_size=(40, 40)' in repr(crop)
