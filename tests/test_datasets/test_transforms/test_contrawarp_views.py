# Copyright (c) mmfer contributors. All rights reserved.
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmpretrain.structures import DataSample

from mmfer.datasets.synthetic import SyntheticFaceGenerator, write_face_folder, write_voxceleb
from mmfer.datasets.transforms import SafeColorJitter, adjust_hue, local_warp
from mmfer.registry import DATASETS, MODELS, TRANSFORMS

CODEC = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1.5)
X1 = [dict(type='FaceRandomFlip', prob=0.5),
      dict(type='RandomApply', transforms=[dict(type='SafeColorJitter', brightness=0.4,
                                                 contrast=0.4, saturation=0.2, hue=0.1)],
           prob=0.8)]
X2 = [dict(type='RandomResizedCrop', scale=64, backend='pillow'),
      dict(type='RandomFlip', prob=0.5)]


@pytest.fixture(scope='module')
def face():
    return SyntheticFaceGenerator(image_size=64, seed=0).render(identity=1,
                                                                expression='happiness', seed=2)


def _views(**kw):
    cfg = dict(type='ContraWarpViews', view_pipelines=[X1, X2],
               warp=dict(type='RandomLocalWarp', center_mode='landmark', seed=0), codec=CODEC)
    cfg.update(kw)
    return TRANSFORMS.build(cfg)


def test_views_landmarks_weights_and_heatmaps(face):
    np.random.seed(0)
    t = _views()
    out = t(dict(img=face['img'].copy(), gt_keypoints=face['keypoints'].copy(),
                 img_path='f.jpg'))
    x1, x2, x3 = out['img']
    assert x1.shape == x2.shape == x3.shape == (64, 64, 3)
    k1, k3 = out['gt_keypoints']
    # x3 is exactly the recorded warps applied to x1; x1's landmarks follow x1's flip
    ref = x1
    for params in out['warp_params']:  # (c, m, r, strength)
        ref = local_warp(ref, *params)
    assert np.array_equal(ref, x3)
    expect_k1 = face['keypoints'].copy()
    if out['flip']:
        expect_k1[:, 0] = 63 - expect_k1[:, 0]
        from mmfer.datasets.transforms import flip_indices
        expect_k1 = expect_k1[flip_indices(68)]
    np.testing.assert_allclose(k1, expect_k1, atol=1e-5)
    moved = np.linalg.norm(k3 - k1, axis=1) > 0.5
    w = out['keypoint_weights']
    assert w.shape == (2, 68) and np.array_equal(w[0], w[1])
    np.testing.assert_allclose(w[0], np.where(moved, 1.0, 0.1))
    assert out['has_landmarks'] and moved.any() and (~moved).any()
    hm = out['heatmaps']
    assert hm.shape == (2, 68, 16, 16) and hm.dtype == np.float32
    for v in range(2):  # each Gaussian peaks at the landmark / 4 (heatmap stride)
        for j in (8, 30, 36, 48):
            peak = np.unravel_index(hm[v, j].argmax(), (16, 16))
            kp = out['gt_keypoints'][v, j] / 4
            assert abs(peak[1] - kp[0]) <= 0.5 + 1e-6 and abs(peak[0] - kp[1]) <= 0.5 + 1e-6


def test_seeded_views_are_reproducible(face):
    outs = []
    for _ in range(2):
        np.random.seed(11)  # view pipelines draw from numpy's global state, the warp is seeded
        outs.append(_views()(dict(img=face['img'].copy(), gt_keypoints=face['keypoints'].copy())))
    for a, b in zip(outs[0]['img'], outs[1]['img']):
        assert np.array_equal(a, b)
    assert outs[0]['warp_params'] == outs[1]['warp_params']
    np.testing.assert_array_equal(outs[0]['heatmaps'], outs[1]['heatmaps'])


def test_flip_swaps_left_right_in_x1(face):
    t = _views(view_pipelines=[[dict(type='FaceRandomFlip', prob=1.0)], []], codec=None)
    out = t(dict(img=face['img'].copy(), gt_keypoints=face['keypoints'].copy()))
    assert out['flip'] and np.array_equal(out['img'][0], face['img'][:, ::-1])
    k1 = out['gt_keypoints'][0]
    assert k1[36, 0] < k1[45, 0]  # left eye corner stays on the image left after the flip


def test_missing_landmarks_and_errors(face):
    t = _views(warp=dict(type='RandomLocalWarp', center_mode='random', seed=0))
    out = t(dict(img=face['img'].copy(), img_path='nolm.jpg'))
    assert not out['has_landmarks']
    assert not out['keypoint_weights'].any() and out['gt_keypoints'].shape == (2, 68, 2)
    assert out['heatmaps'].shape == (2, 68, 16, 16) and not out['heatmaps'].any()
    with pytest.raises(KeyError, match="center_mode='landmark'.*nolm.jpg"):
        _views()(dict(img=face['img'].copy(), img_path='nolm.jpg'))
    with pytest.raises(ValueError, match=r'\(68, 2\)'):
        _views()(dict(img=face['img'].copy(), gt_keypoints=face['keypoints'][:10]))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        _views()(dict(img=face['img'][..., 0], gt_keypoints=face['keypoints']))
    with pytest.raises(ValueError, match='random crops are not allowed in x1'):
        _views(view_pipelines=[[dict(type='RandomResizedCrop', scale=64)], []])
    with pytest.raises(ValueError, match='FaceRandomFlip'):
        _views(view_pipelines=[[dict(type='RandomFlip', prob=0.5)], []])
    with pytest.raises(ValueError, match='input_size'):
        _views(view_pipelines=[[dict(type='FaceResize', scale=32)], []])(
            dict(img=face['img'].copy(), gt_keypoints=face['keypoints'].copy()))


class _ResizeNoKeypoints:  # a geometric op that forgets the landmarks

    def __call__(self, results):
        results['img'] = mmcv.imresize(results['img'], (32, 32))
        return results


def test_x1_resize_without_landmarks_is_caught(face):
    t = _views(view_pipelines=[[_ResizeNoKeypoints()], []], codec=None)
    with pytest.raises(ValueError, match='did not move its landmarks'):
        t(dict(img=face['img'].copy(), gt_keypoints=face['keypoints'].copy(), img_path='a'))


def test_colour_jitter_hue_works_under_numpy2():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert TRANSFORMS.get('SafeColorJitter') is SafeColorJitter
    # the name ColorJitter keeps meaning mmpretrain's transform
    assert TRANSFORMS.get('ColorJitter').__module__.startswith('mmpretrain.')
    for backend in ('cv2', 'pillow'):
        # equals mmcv for positive factors (where mmcv works) ...
        assert np.array_equal(adjust_hue(img, 0.2, backend), mmcv.adjust_hue(img, 0.2,
                                                                             backend=backend))
        # ... and negative factors (an OverflowError in mmcv under numpy 2) work
        assert not np.array_equal(adjust_hue(img, -0.2, backend), img)
    np.random.seed(1)
    for _ in range(10):
        out = SafeColorJitter(hue=0.5)(dict(img=img.copy()))['img']
        assert out.shape == img.shape and out.dtype == np.uint8


DATASET_BASES = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', '_base_',
                         'datasets')


@pytest.mark.parametrize('base', ['ms1m_contrawarp_byol.py', 'ms1m_contrawarp_mocov2.py'])
def test_config_pipeline_dataloader_to_preprocessor(tmp_path, base):
    """End to end: the dataset base's pipeline (LoadFaceImage first) on another dataset's
    files -> default_collate -> SelfSupDataPreprocessor."""
    write_voxceleb(str(tmp_path / 'vox'), num_identities=2, videos_per_identity=1,
                   frames_per_video=3, image_size=64, seed=0)
    cfg = Config.fromfile(osp.join(DATASET_BASES, base))
    ds = DATASETS.build(dict(type='VoxCelebFrames', data_root=str(tmp_path / 'vox'),
                             landmark_file='landmarks.npz', pipeline=cfg.train_pipeline))
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=default_collate)
    np.random.seed(0)
    batch = next(iter(loader))
    pre = MODELS.build(cfg.data_preprocessor)
    data = pre(batch, training=True)
    inputs, samples = data['inputs'], data['data_samples']
    assert isinstance(inputs, list) and len(inputs) == 3
    for x in inputs:
        assert x.shape == (3, 3, 224, 224) and x.dtype == torch.float32
        assert abs(float(x.mean())) < 3  # normalised
    assert len(samples) == 3 and all(isinstance(s, DataSample) for s in samples)
    s = samples[0]
    assert s.keypoints.shape == (2, 68, 2) and s.keypoints.dtype == torch.float32
    assert s.keypoint_weights.shape == (2, 68) and s.heatmaps.shape == (2, 68, 56, 56)
    assert s.has_landmarks is True and len(s.warp_params) == 2
    vals = torch.unique(s.keypoint_weights)
    assert all(min(abs(float(v) - w) for w in (0.0, 0.1, 1.0)) < 1e-6 for v in vals)
    assert float(s.keypoints.max()) < 224 and float(s.keypoints.min()) >= 0


def test_dataset_base_with_face_folder_dataset(tmp_path):
    """FaceFolderDataset lists paths and mmpose-style keypoints (1, K, 2); the dataset base's
    pipeline loads the image (LoadFaceImage) and uses them."""
    write_face_folder(str(tmp_path / 'ff'), num=2, image_size=64, seed=0)
    cfg = Config.fromfile(osp.join(DATASET_BASES, 'ms1m_contrawarp_byol.py'))
    ds = DATASETS.build(dict(type='FaceFolderDataset', data_root=str(tmp_path / 'ff'),
                             data_prefix='images', landmark_file='landmarks.npz',
                             pipeline=cfg.train_pipeline))
    np.random.seed(0)
    out = ds[0]
    assert [tuple(x.shape) for x in out['inputs']] == [(3, 224, 224)] * 3
    s = out['data_samples']
    assert s.has_landmarks and s.keypoint_weights.max() == 1.0
