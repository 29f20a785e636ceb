# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.datasets.synthetic import SyntheticFaceGenerator
from mmfer.datasets.transforms import (FACE_TEMPLATES, AlignFace, align_face,
                                       get_face_template, keypoints68_to_5)
from mmfer.datasets.transforms.align_face import estimate_face_alignment, transform_points
from mmfer.registry import TRANSFORMS


def _similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    r = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([r, [[tx], [ty]]])


def _invert(m: np.ndarray) -> np.ndarray:
    inv = np.linalg.inv(m[:, :2])
    return np.hstack([inv, -inv @ m[:, 2:]])


def test_keypoints68_to_5_by_hand():
    k = np.zeros((68, 2), np.float32)
    k[36:42] = [[0, 0], [2, 0], [4, 0], [6, 0], [4, 2], [2, 2]]   # mean (3, 2/3)
    k[42:48] = 10 + k[36:42]
    k[30], k[48], k[54] = [5, 5], [1, 8], [9, 8]
    np.testing.assert_allclose(keypoints68_to_5(k),
                               [[3, 2 / 3], [13, 10 + 2 / 3], [5, 5], [1, 8], [9, 8]],
                               rtol=1e-6)
    assert keypoints68_to_5(np.stack([k, k])).shape == (2, 5, 2)
    with pytest.raises(ValueError, match=r'\(\.\.\., 68, 2\)'):
        keypoints68_to_5(np.zeros((5, 2)))


def test_templates():
    assert set(FACE_TEMPLATES) == {'arcface_112', 'affwild2_112', 'rafdb_100', 'emoco_256'}
    arc, size = get_face_template('arcface_112')
    assert size == (112, 112)
    np.testing.assert_allclose(arc[0], [38.2946, 51.6963])
    # EmoCo: SeetaFace's 256x256 mean shape
    emo, size = get_face_template('emoco_256')
    assert size == (256, 256)
    np.testing.assert_allclose(emo[[0, 4]], [[89.3095, 72.9025], [159.1065, 184.7601]])
    # RAF-DB: ArcFace scaled to 100 px with the pixel-centre map; equals output_size=100
    raf, size = get_face_template('rafdb_100')
    assert size == (100, 100)
    np.testing.assert_allclose(raf, (arc + 0.5) * 100 / 112 - 0.5)
    np.testing.assert_allclose(get_face_template('arcface_112', output_size=100)[0], raf)
    custom = get_face_template(dict(points=arc.tolist(), size=112), output_size=(224, 224))
    np.testing.assert_allclose(custom[0], (arc + 0.5) * 2 - 0.5)
    with pytest.raises(KeyError, match=r"unknown face template 'vgg'.*arcface_112"):
        get_face_template('vgg')
    with pytest.raises(ValueError, match=r'\(5, 2\)'):
        get_face_template(dict(points=[[0, 0]] * 4, size=112))
    with pytest.raises(ValueError, match='points and size'):
        get_face_template(dict(points=arc, size=112, margin=3))


@pytest.mark.parametrize('template', sorted(FACE_TEMPLATES))
def test_exact_similarity_is_recovered(template):
    dst, size = get_face_template(template)
    truth = _similarity(0.37, 12.0, 5.0, -3.0)         # image -> template
    src = transform_points(dst, _invert(truth))         # a face that aligns exactly
    m = estimate_face_alignment(src, dst)
    np.testing.assert_allclose(m, truth, atol=1e-9)
    # the pixel under a source point lands on the template point
    img = np.zeros((600, 600, 3), np.uint8)
    x, y = np.round(src[0]).astype(int)
    img[y - 3:y + 4, x - 3:x + 4] = 255
    out, m2 = align_face(img, src, template, interpolation='bilinear')
    assert out.shape == (size[1], size[0], 3)
    ys, xs = np.nonzero(out[..., 0] > 0)
    w = out[ys, xs, 0].astype(float)
    centroid = np.array([(xs * w).sum() / w.sum(), (ys * w).sum() / w.sum()])
    np.testing.assert_allclose(centroid, transform_points([x, y], m2), atol=0.3)


def test_nan_points_are_left_out_and_two_are_enough():
    dst, _ = get_face_template('arcface_112')
    truth = _similarity(2.0, -8.0, 30.0, 10.0)
    src = transform_points(dst, _invert(truth))
    src[2:] = np.nan                                      # dlib's 5-point model: eyes only
    np.testing.assert_allclose(estimate_face_alignment(src, dst), truth, atol=1e-9)
    src[1] = np.nan
    with pytest.raises(ValueError, match='at least 2 finite points'):
        estimate_face_alignment(src, dst)
    with pytest.raises(ValueError, match='coincide'):
        estimate_face_alignment(np.array([[1, 1]] * 2 + [[np.nan] * 2] * 3), dst)


def test_align_face_transform_on_synthetic_landmarks():
    face = SyntheticFaceGenerator(image_size=160, seed=0).render(3, 'happiness', seed=7)
    t = TRANSFORMS.build(dict(type='AlignFace', template='emoco_256'))
    assert isinstance(t, AlignFace)
    results = t(dict(img=face['img'], gt_keypoints=face['keypoints'].copy(),
                     img_path='syn.png'))
    assert results['img'].shape == (256, 256, 3) and results['img_shape'] == (256, 256)
    m = results['align_matrix'].astype(np.float64)
    # landmarks moved with the image, and the 5 points reduced from them fit the template
    np.testing.assert_allclose(results['gt_keypoints'],
                               transform_points(face['keypoints'], m), atol=1e-3)
    np.testing.assert_allclose(results['ori_keypoints5'], keypoints68_to_5(face['keypoints']),
                               atol=1e-4)
    dst, _ = get_face_template('emoco_256')
    err = np.linalg.norm(keypoints68_to_5(results['gt_keypoints']) - dst, axis=1)
    assert err.max() < 0.1 * 256, err   # a least-squares fit, not exact: face shapes differ
    # mmpose-style keypoints (1, K, 2) keep their key and shape
    res2 = AlignFace('arcface_112')(dict(img=face['img'], keypoints=face['keypoints'][None]))
    assert res2['keypoints'].shape == (1, 68, 2) and 'gt_keypoints' not in res2


def test_align_face_detector_points_take_precedence():
    dst, _ = get_face_template('arcface_112')
    truth = _similarity(0.5, 3.0, -20.0, -40.0)
    src = transform_points(dst, _invert(truth))
    src[2:] = np.nan
    img = np.zeros((300, 300, 3), np.uint8)
    res = AlignFace()(dict(img=img, keypoints5=src, gt_keypoints=np.zeros((68, 2))))
    np.testing.assert_allclose(res['keypoints5'][:2], dst[:2], atol=1e-4)
    assert np.isnan(res['keypoints5'][2:]).all()
    np.testing.assert_allclose(res['align_matrix'], truth, atol=1e-5)


def test_align_face_errors():
    img = np.zeros((50, 50, 3), np.uint8)
    with pytest.raises(KeyError, match=r"no points to align with \(img_path=.*a\.jpg"):
        AlignFace()(dict(img=img, img_path='a.jpg'))
    with pytest.raises(ValueError, match='only 68 .* or 5'):
        AlignFace()(dict(img=img, gt_keypoints=np.zeros((3, 2)), img_path='a.jpg'))
    with pytest.raises(ValueError, match=r'keypoints5 must have shape \(5, 2\)'):
        AlignFace()(dict(img=img, keypoints5=np.zeros((4, 2))))
    with pytest.raises(ValueError, match=r"at least 2 finite points, got 0 \(img_path='b.jpg'\)"):
        AlignFace()(dict(img=img, keypoints5=np.full((5, 2), np.nan), img_path='b.jpg'))
    with pytest.raises(ValueError, match='border_mode'):
        AlignFace(border_mode='wrap')
    with pytest.raises(KeyError, match='unknown face template'):
        AlignFace(template='nope')
