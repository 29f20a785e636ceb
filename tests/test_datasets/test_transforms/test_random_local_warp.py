# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.datasets.synthetic import SyntheticFaceGenerator
from mmfer.datasets.transforms import (FaceRandomFlip, FaceResize, RandomLocalWarp,
                                       flip_indices, local_warp, warp_points)
from mmfer.registry import TRANSFORMS


@pytest.fixture(scope='module')
def face():
    return SyntheticFaceGenerator(image_size=112, seed=0).render(identity=2,
                                                                 expression='surprise', seed=1)


def _results(face):
    return dict(img=face['img'].copy(), gt_keypoints=face['keypoints'].copy(),
                img_path='face.jpg')


def test_random_local_warp_reproduces_its_warps_and_moves_landmarks(face):
    t = TRANSFORMS.build(dict(type='RandomLocalWarp', num_warps=3, seed=5))
    assert isinstance(t, RandomLocalWarp) and 'num_warps=3' in repr(t)
    out = t(_results(face))
    img, kpts = face['img'], face['keypoints']
    assert len(out['warp_params']) == 3
    for c, m, r, strength in out['warp_params']:
        assert 150 <= strength <= 300  # the default reading: K0 = 100 / strength
        img = local_warp(img, c, m, r, strength)
        kpts = warp_points(kpts, c, m, r, strength)
    assert np.array_equal(out['img'], img)
    np.testing.assert_allclose(out['gt_keypoints'], kpts, atol=1e-4)
    disp = np.linalg.norm(kpts - face['keypoints'], axis=1)
    np.testing.assert_array_equal(out['warp_moved'], disp > 0.5)
    assert out['warp_moved'].any() and out['gt_keypoints'].dtype == np.float32


@pytest.mark.parametrize('mode', ['denominator', 'step'])
def test_sampling_ranges_scale_with_image_size(face, mode):
    t = RandomLocalWarp(num_warps=1, seed=0, strength_mode=mode)
    assert f'strength_mode={mode!r}' in repr(t)
    s = 112 / 224
    steps = []
    for _ in range(300):
        (cx, cy), (mx, my), r, strength = t(_results(face))['warp_params'][0]
        assert 50 * s <= cx <= 150 * s and 50 * s <= cy <= 150 * s
        assert 50 * s <= r <= 80 * s
        steps.append(np.hypot(mx - cx, my - cy))
    steps = np.array(steps)
    if mode == 'denominator':  # sqrt(U(100, 200)) times s; strength in K0
        assert 150 <= strength <= 300
        assert steps.min() >= 10 * s - 1e-6 and steps.max() <= np.sqrt(200) * s + 1e-6
        assert steps.min() < 5.3 and steps.max() > 6.8  # covers most of [5, 7.07]
    else:  # sqrt(U(100, 200)) * U(1.5, 3.0), times s; Eq. (1) as printed
        assert strength == 100
        assert steps.min() >= 10 * 1.5 * s - 1e-6 and steps.max() <= np.sqrt(200) * 3 * s + 1e-6
        assert steps.min() < 10 and steps.max() > 16  # covers most of [7.5, 21.2]


def test_landmark_mode_centres_on_landmarks(face):
    t = RandomLocalWarp(num_warps=1, center_mode='landmark', landmark_jitter=2.,
                        landmark_indices=[30, 48], seed=1)
    for _ in range(30):
        (cx, cy), _, _, _ = t(_results(face))['warp_params'][0]
        d = np.abs(face['keypoints'][[30, 48]] - [cx, cy]).max(1)
        assert d.min() <= 2 * 112 / 224 + 1e-6


def test_seeded_runs_are_reproducible(face):
    a = RandomLocalWarp(seed=3)(_results(face))
    b = RandomLocalWarp(seed=3)(_results(face))
    assert a['warp_params'] == b['warp_params'] and np.array_equal(a['img'], b['img'])
    np.random.seed(7)  # without a seed the global numpy state drives it (mmengine seeds it)
    c = RandomLocalWarp()(_results(face))
    np.random.seed(7)
    d = RandomLocalWarp()(_results(face))
    assert c['warp_params'] == d['warp_params']
    assert c['warp_params'] != a['warp_params']


def test_bad_inputs_raise_clear_errors(face):
    with pytest.raises(KeyError, match='gt_keypoints.*face.jpg'):
        RandomLocalWarp(center_mode='landmark')(dict(img=face['img'], img_path='face.jpg'))
    with pytest.raises(ValueError, match=r'gt_keypoints must have shape \(K, 2\)'):
        RandomLocalWarp()(dict(img=face['img'], gt_keypoints=np.zeros((68, 3))))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        RandomLocalWarp()(dict(img=face['img'][..., :1]))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        RandomLocalWarp()(dict(img=face['img'][..., 0]))
    with pytest.raises(ValueError, match='center_mode'):
        RandomLocalWarp(center_mode='eyes')
    with pytest.raises(ValueError, match='strength_mode'):
        RandomLocalWarp(strength_mode='percent')
    # without landmarks, random mode works and adds no warp_moved
    out = RandomLocalWarp(seed=0)(dict(img=face['img'].copy()))
    assert 'warp_moved' not in out and len(out['warp_params']) == 2


def test_mmpose_style_keypoints_keep_their_key_and_shape(face):
    res = dict(img=face['img'].copy(), keypoints=face['keypoints'][None].copy(),
               keypoints_visible=np.ones((1, 68), np.float32), has_landmarks=True)
    out = RandomLocalWarp(seed=2)(res)
    assert out['keypoints'].shape == (1, 68, 2) and 'gt_keypoints' not in out
    ref = RandomLocalWarp(seed=2)(_results(face))
    np.testing.assert_allclose(out['keypoints'][0], ref['gt_keypoints'])


def test_face_flip_and_resize_move_landmarks(face):
    import os.path as osp

    import mmpose
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    meta = parse_pose_metainfo(dict(from_file=osp.join(
        osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets', '300w.py')))
    np.testing.assert_array_equal(flip_indices(68), meta['flip_indices'])

    out = FaceRandomFlip(prob=1.0)(_results(face))
    assert out['flip'] and np.array_equal(out['img'], face['img'][:, ::-1])
    k = out['gt_keypoints']
    # the flipped face's left eye corner (36) is the mirror of the original right one (45)
    np.testing.assert_allclose(k[36], [111 - face['keypoints'][45, 0], face['keypoints'][45, 1]])
    twice = FaceRandomFlip(prob=1.0)(out)
    np.testing.assert_allclose(twice['gt_keypoints'], face['keypoints'], atol=1e-5)
    assert not FaceRandomFlip(prob=0.0)(_results(face))['flip']

    res = FaceResize(scale=224)(_results(face))
    assert res['img'].shape == (224, 224, 3) and res['img_shape'] == (224, 224)
    np.testing.assert_allclose(res['gt_keypoints'], (face['keypoints'] + 0.5) * 2 - 0.5,
                               atol=1e-4)
    with pytest.raises(ValueError, match='flip indices for 5'):
        FaceRandomFlip(prob=1.0)(dict(img=face['img'], gt_keypoints=np.zeros((5, 2))))
