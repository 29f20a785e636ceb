# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.registry import TRANSFORMS


def test_apply_to_views_runs_the_pipeline_per_view_and_moves_landmarks():
    kpts = np.tile(np.array([[10., 20.]], np.float32), (68, 1))
    results = dict(img=np.zeros((40, 40, 3), np.uint8), img_path='a.png', gt_keypoints=kpts,
                   views=dict(positive=dict(img=np.zeros((20, 20, 3), np.uint8),
                                            img_path='b.png'),
                              hardneg=dict(img=np.zeros((10, 10, 3), np.uint8))))
    t = TRANSFORMS.build(dict(type='ApplyToViews', views=('anchor', 'positive'),
                              transforms=[dict(type='FaceResize', scale=80)]))
    out = t(results)
    assert out['img'].shape == (80, 80, 3) and out['views']['positive']['img'].shape == (80, 80, 3)
    assert out['views']['hardneg']['img'].shape == (10, 10, 3)  # not listed: untouched
    np.testing.assert_allclose(out['gt_keypoints'][0], [(10.5 * 2) - 0.5, (20.5 * 2) - 0.5])
    assert 'gt_keypoints' not in out['views']['positive'] and out['img_path'] == 'a.png'
    with pytest.raises(KeyError, match="no view 'hardneg_positive'"):
        TRANSFORMS.build(dict(type='ApplyToViews', views=('hardneg_positive', ),
                              transforms=[]))(results)
