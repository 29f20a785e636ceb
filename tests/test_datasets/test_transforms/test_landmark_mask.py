# Copyright (c) mmfer contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from mmfer.datasets.synthetic import SyntheticFaceGenerator
from mmfer.datasets.transforms import RandomLandmarkMask, mask_face_part
from mmfer.datasets.transforms.landmark_mask import FACE_PARTS_68
from mmfer.registry import TRANSFORMS


@pytest.fixture(scope='module')
def face():
    return SyntheticFaceGenerator(image_size=112, seed=0).render(identity=1,
                                                                 expression='happiness', seed=3)


def _hull(kpts, idx, shape):
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(kpts[list(idx)]).astype(np.int32)), 1)
    return m > 0


@pytest.mark.parametrize('part', ['left_eye', 'right_eye', 'mouth'])
def test_masks_exactly_the_part_found_by_the_landmarks(face, part):
    img, kpts = face['img'], face['keypoints']
    t = TRANSFORMS.build(dict(type='RandomLandmarkMask', prob=1.0, parts=(part, ), margin=0.05))
    out = t(dict(img=img.copy(), gt_keypoints=kpts, img_path='face.png'))
    assert out['masked_part'] == part and t.num_masked == 1
    changed = np.any(out['img'] != img, axis=2)
    mean = img.reshape(-1, 3).mean(0)
    # every pixel of the part (the landmarks' convex hull) now has the image's mean colour
    inside = _hull(kpts, FACE_PARTS_68[part], img.shape)
    assert np.abs(out['img'][inside].astype(float) - mean).max() <= 1.0
    # nothing changed outside the part's box enlarged by the margin (5.6 px at 112 px)
    pts = kpts[list(FACE_PARTS_68[part])]
    lo, hi = pts.min(0) - 0.05 * 112 - 1, pts.max(0) + 0.05 * 112 + 1
    ys, xs = np.nonzero(changed)
    assert xs.min() >= lo[0] and xs.max() <= hi[0] and ys.min() >= lo[1] and ys.max() <= hi[1]
    # the other parts are untouched
    for other in set(FACE_PARTS_68) - {part}:
        if other != 'mouth' and part != 'mouth':
            continue  # the two eye boxes may touch
        assert not changed[_hull(kpts, FACE_PARTS_68[other], img.shape)].any()


def test_part_and_probability_draws_and_seed(face):
    img, kpts = face['img'], face['keypoints']
    t = RandomLandmarkMask(prob=0.8, seed=0)
    parts = [t(dict(img=img, gt_keypoints=kpts))['masked_part'] for _ in range(600)]
    assert abs(parts.count(None) / 600 - 0.2) < 0.05
    for p in FACE_PARTS_68:
        assert abs(parts.count(p) / 600 - 0.8 / 3) < 0.06
    a = RandomLandmarkMask(seed=3)(dict(img=img, gt_keypoints=kpts))
    b = RandomLandmarkMask(seed=3)(dict(img=img, gt_keypoints=kpts))
    assert a['masked_part'] == b['masked_part'] and np.array_equal(a['img'], b['img'])


def test_mmpose_keypoints_and_samples_without_landmarks(face):
    img, kpts = face['img'], face['keypoints']
    t = RandomLandmarkMask(prob=1.0, parts=('mouth', ))
    out = t(dict(img=img.copy(), keypoints=kpts[None], keypoints_visible=np.ones((1, 68))))
    assert out['masked_part'] == 'mouth'
    out = t(dict(img=img.copy(), img_path='no_landmarks.png'))
    assert out['masked_part'] is None and np.array_equal(out['img'], img)
    assert t.num_no_landmarks == 1
    with pytest.raises(ValueError, match=r'\(68, 2\)'):
        t(dict(img=img, gt_keypoints=kpts[:10]))
    with pytest.raises(ValueError, match='unknown parts'):
        RandomLandmarkMask(parts=('nose', ))


def test_mask_face_part_function():
    img = np.zeros((20, 20, 3), np.uint8)
    img[:10] = 200
    kpts = np.zeros((68, 2))
    kpts[48:68] = [[9, 9], [11, 11]] * 10  # mouth box (9, 9)-(11, 11)
    out = mask_face_part(img, kpts, FACE_PARTS_68['mouth'], margin=2)
    assert (out[10, 10] == 100).all()  # mean colour (half 200, half 0)
    assert (out[0, 0] == 200).all() and (out[19, 19] == 0).all()
