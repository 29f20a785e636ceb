# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.datasets.transforms import CropFaceBox
from mmfer.registry import TRANSFORMS


def test_crop_face_box_crops_scales_and_moves_keypoints():
    img = np.arange(40 * 50 * 3, dtype=np.int64).reshape(40, 50, 3).astype(np.uint8)
    kpts = np.array([[20., 15.], [25., 20.]], np.float32)
    out = TRANSFORMS.build(dict(type='CropFaceBox'))(
        dict(img=img.copy(), face_bbox=np.array([10, 5, 30, 25]), gt_keypoints=kpts.copy()))
    np.testing.assert_array_equal(out['img'], img[5:25, 10:30])
    assert out['img_shape'] == (20, 20)
    np.testing.assert_array_equal(out['gt_keypoints'], kpts - [10, 5])
    np.testing.assert_array_equal(out['face_bbox'], [0, 0, 20, 20])
    # scale 2 around the centre (20, 15), clipped to the image: x 0..40, y 0..35
    big = CropFaceBox(scale=2.0)(dict(img=img.copy(), face_bbox=np.array([10, 5, 30, 25])))
    assert big['img'].shape == (35, 40, 3)
    # no face box: pre-cropped image, unchanged
    same = CropFaceBox()(dict(img=img))
    assert same['img'] is img
    with pytest.raises(ValueError, match=r'lies outside the 10x10 image a\.jpg'):
        CropFaceBox()(dict(img=np.zeros((10, 10, 3)), face_bbox=np.array([50, 50, 60, 60]),
                           img_path='a.jpg'))
    with pytest.raises(ValueError, match='scale must be > 0'):
        CropFaceBox(scale=0)
    assert repr(CropFaceBox(1.5)) == 'CropFaceBox(scale=1.5)'
