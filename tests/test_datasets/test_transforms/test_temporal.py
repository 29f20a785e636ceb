# Copyright (c) mmfer contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate

from mmfer.datasets import VideoFrameIndex
from mmfer.datasets.synthetic import SyntheticFaceGenerator, write_voxceleb
from mmfer.datasets.transforms import FaceSwap, HardNeg, TimeAug, swap_expression
from mmfer.registry import DATASETS, MODELS


def make_index(lengths, fps):
    """A frame index without images (frame numbers 0..L-1 per video, one identity each)."""
    n = sum(lengths)
    starts = np.cumsum([0] + list(lengths))
    vid = np.repeat(np.arange(len(lengths)), lengths)
    frame = np.concatenate([np.arange(L) for L in lengths])
    return VideoFrameIndex(img_paths=np.array([f'{i}.jpg' for i in range(n)]), identity=vid,
                           video=vid, frame=frame, video_start=starts[:-1],
                           video_end=starts[1:], keypoints=None,
                           has_keypoints=np.zeros(n, bool), fps=float(fps))


def test_timeaug_offset_histogram_is_the_documented_triangle():
    idx = make_index([1000], fps=100)
    t = TimeAug(max_offset=1.0, seed=0)
    d = np.array([(t.sample_position(idx, 500) - 500) / 100 for _ in range(20000)])
    assert np.abs(d).max() <= 1.0 + 1e-9 and np.abs(d).min() >= 0.01  # never the anchor
    assert abs((d > 0).mean() - 0.5) < 0.02  # random sign
    # frames are 0.01 s apart: bin edges half-way between frames, |Δ| rounded to a frame
    edges = np.r_[0, np.arange(1, 10) / 10 + 0.005, 1.01]
    p = np.histogram(np.abs(d), bins=edges)[0] / len(d)
    cdf = 1 - (1 - np.minimum(edges, 1))**2  # CDF of p(δ) = 2 (1 - δ)
    expect = np.diff(cdf)  # ≈ 0.19, 0.17, ..., 0.01
    assert np.abs(p - expect).max() < 0.012
    assert (np.diff(p) < 0).all()  # strictly decreasing ("downscale")
    assert abs(np.abs(d).mean() - 1 / 3) < 0.01
    # the uniform ablation is flat
    u = TimeAug(max_offset=1.0, distribution='uniform', seed=0)
    du = np.array([abs(u.sample_position(idx, 500) - 500) / 100 for _ in range(20000)])
    pu = np.histogram(du, bins=edges)[0] / len(du)
    assert np.abs(pu - np.diff(np.minimum(edges, 1))).max() < 0.012


def test_timeaug_clips_to_the_video_and_is_seeded():
    idx = make_index([30, 8], fps=25)
    t = TimeAug(seed=1)
    first = [t.sample_position(idx, 0) for _ in range(500)]  # anchor = first frame
    assert min(first) >= 1 and max(first) <= 25  # only forward, within 1 s
    short = [t.sample_position(idx, 33) for _ in range(200)]  # second video, 8 frames
    assert set(short) <= set(range(30, 38)) - {33}
    a = [TimeAug(seed=4).sample_position(idx, 10) for _ in range(1)]
    b = [TimeAug(seed=4).sample_position(idx, 10) for _ in range(1)]
    assert a == b


def test_hardneg_offsets_and_skips():
    idx = make_index([200, 50], fps=25)  # 8 s and 2 s videos
    h = HardNeg(min_offset=3.0, seed=0)
    pos = [h.sample_position(idx, 100) for _ in range(300)]
    assert all(abs(p - 100) >= 75 and 0 <= p < 200 for p in pos)
    assert min(pos) < 10 and max(pos) > 190  # uniform over both sides
    assert h.sample_position(idx, 220) is None
    img = np.full((8, 8, 3), 7, np.uint8)
    out = h(dict(img=img, frame_index=idx, frame_pos=220, img_path='a.jpg'))
    assert out['hardneg_valid'] is False and not out['views']['hardneg']['img'].any()
    assert h.num_skipped == 1 and h.num_calls == 1
    a = [HardNeg(seed=5).sample_position(idx, 100) for _ in range(3)]
    assert a == [HardNeg(seed=5).sample_position(idx, 100) for _ in range(3)]
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        h(dict(img=img[..., 0], frame_index=idx, frame_pos=220))
    with pytest.raises(KeyError, match='frame_index'):
        h(dict(img=img))


@pytest.fixture(scope='module')
def faces():
    gen = SyntheticFaceGenerator(image_size=96, seed=0)
    return (gen.render(identity=0, expression='surprise', seed=1),
            gen.render(identity=5, expression='neutral', seed=2))


def test_swap_expression_pastes_region_and_matches_colour(faces):
    src, dst = faces
    out = swap_expression(src['img'], src['keypoints'], dst['img'], dst['keypoints'])
    assert out is not None
    img, kpts = out
    assert img.shape == dst['img'].shape and img.dtype == np.uint8 and kpts.shape == (68, 2)
    assert np.array_equal(img[:8, :8], dst['img'][:8, :8])  # far outside the face: untouched
    mouth = np.round(kpts[48:60].mean(0)).astype(int)
    y, x = mouth[1], mouth[0]
    # the surprised (open) mouth is pasted: the target's closed mouth changes
    diff = np.abs(img[y - 4:y + 5, x - 6:x + 7].astype(int) -
                  dst['img'][y - 4:y + 5, x - 6:x + 7].astype(int)).mean()
    assert diff > 10
    # colour transfer: inside the region the mean colour is the target's, not the source's
    import cv2
    region = np.zeros((96, 96), np.uint8)
    cv2.fillConvexPoly(region, cv2.convexHull(np.round(kpts[17:]).astype(np.int32)), 1)
    region = region > 0
    assert np.abs(img[region].mean(0) - dst['img'][region].mean(0)).max() < 8
    assert np.abs(src['img'][region].mean(0) - dst['img'][region].mean(0)).max() > 40
    # landmarks: inner points from the aligned source, jaw from the target
    np.testing.assert_array_equal(kpts[:17], dst['keypoints'][:17])
    # degenerate landmarks fall back (None)
    assert swap_expression(src['img'], np.zeros((68, 2)), dst['img'], dst['keypoints']) is None
    bad = src['keypoints'].copy()
    bad[3, 0] = np.nan
    assert swap_expression(src['img'], bad, dst['img'], dst['keypoints']) is None


@pytest.fixture(scope='module')
def vox(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('vox'))
    write_voxceleb(root, num_identities=3, videos_per_identity=1, frames_per_video=12,
                   image_size=48, seed=0)
    return root


def test_faceswap_transform_uses_other_identity_and_counts_fallbacks(vox):
    ds = DATASETS.build(dict(type='VoxCelebFrames', data_root=vox, landmark_file='landmarks.npz',
                             fps=5))
    info = ds.get_data_info(3)
    res = TimeAug(seed=0)(dict(info))
    fs = FaceSwap(prob=1.0, seed=0)
    out = fs(res)
    view = out['views']['positive']
    assert out['face_swapped'] and view['swap_identity'] != info['identity']
    assert fs.num_swapped == 1 and view['img'].shape == (48, 48, 3)
    res = TimeAug(seed=0)(dict(info))
    res['views']['positive'].pop('gt_keypoints')
    out = fs(res)
    assert not out['face_swapped'] and fs.num_fallback == 1
    assert not FaceSwap(prob=0.0)(TimeAug(seed=0)(dict(info)))['face_swapped']
    # seeded: the same other face and the same pixels
    a = FaceSwap(prob=1.0, seed=3)(TimeAug(seed=1)(dict(info)))['views']['positive']
    b = FaceSwap(prob=1.0, seed=3)(TimeAug(seed=1)(dict(info)))['views']['positive']
    assert a['swap_img_path'] == b['swap_img_path'] and np.array_equal(a['img'], b['img'])
    # bad inputs: wrong landmark shape, 1-channel view
    res = TimeAug(seed=0)(dict(info))
    res['views']['positive']['gt_keypoints'] = np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match=r'\(68, 2\)'):
        FaceSwap(prob=1.0)(res)
    res['views']['positive']['img'] = res['views']['positive']['img'][..., 0]
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        FaceSwap(prob=1.0)(res)


def test_hardneg_pair_timeaug_on_the_hard_negative(vox, tmp_path):
    # 3 identities x 1 video x 12 frames at 2 fps: 5.5 s videos, hard negatives exist
    ds = DATASETS.build(dict(type='VoxCelebFrames', data_root=vox, landmark_file='landmarks.npz',
                             fps=2))
    info = ds.get_data_info(0)
    res = HardNeg(min_offset=3.0, seed=0)(dict(info))
    assert res['hardneg_valid']
    t = TimeAug(max_offset=1.0, anchor_role='hardneg', role='hardneg_positive', seed=0)
    out = t(res)
    hn, hp = out['views']['hardneg'], out['views']['hardneg_positive']
    # within 1 s (2 frames) of the hard negative, not of the anchor; same video
    assert 0 < abs(hp['frame'] - hn['frame']) <= 2 and hp['video'] == hn['video']
    assert abs(hp['time_offset']) <= 1.0 and 'time_offset' not in info
    assert 'time_offset' not in out  # the top-level offset is the anchor's positive's only
    # FaceSwap on the hard negative's positive: its own flag
    out = FaceSwap(prob=1.0, role='hardneg_positive', seed=0)(out)
    assert out['hardneg_positive_face_swapped'] and 'face_swapped' not in out
    # a missing hard negative: the pair's positive is a zero placeholder too, never swapped
    short = DATASETS.build(dict(type='VoxCelebFrames', data_root=vox, fps=25))
    res = dict(short.get_data_info(0), img=np.zeros((48, 48, 3), np.uint8))
    res = HardNeg(min_offset=3.0, seed=0)(res)
    assert res['hardneg_valid'] is False
    out = t(res)
    assert not out['views']['hardneg_positive']['img'].any()
    assert out['views']['hardneg_positive']['img_path'] is None
    fs = FaceSwap(prob=1.0, role='hardneg_positive', seed=0)
    assert not fs(out)['hardneg_positive_face_swapped'] and fs.num_fallback == 0
    with pytest.raises(KeyError, match="no view 'hardneg'"):
        t(dict(info))
    with pytest.raises(ValueError, match='role and anchor_role'):
        TimeAug(role='anchor')


def test_sslfer_config_pipeline_end_to_end(vox):
    """The full model's pipeline (Tab. 1 row f) on synthetic frames: 4 views of 112 px."""
    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', '_base_',
                                   'datasets', 'sslfer_voxceleb.py'))
    dcfg = cfg.train_dataloader.dataset
    dcfg.update(data_root=vox, data_prefix=dict(img_path=''), fps=5)
    ds = DATASETS.build(dcfg)
    np.random.seed(0)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False,
                                         collate_fn=default_collate)
    batch = next(iter(loader))
    data = MODELS.build(cfg.data_preprocessor)(batch, training=True)
    assert len(data['inputs']) == 4
    assert all(tuple(x.shape) == (4, 3, 112, 112) for x in data['inputs'])
    s = data['data_samples'][0]
    assert s.view_roles == ('anchor', 'positive', 'hardneg', 'hardneg_positive')
    assert int(s.identity) == 0 and int(s.frame) == 1
    assert 0 < abs(float(s.time_offset)) <= 1.0
    # the anchor's landmarks followed its 128 -> 112 crop (MaskFN crops the eyes and mouth)
    assert s.gt_keypoints.shape == (68, 2) and (s.gt_keypoints >= -20).all()
    assert (s.gt_keypoints <= 130).all()
    # 12 frames at 5 fps span 2.2 s < 3 s: no hard negative, both views are zeros and masked
    assert bool(s.hardneg_valid) is False
    assert float(batch['inputs'][2][0].float().abs().sum()) == 0
    assert float(batch['inputs'][3][0].float().abs().sum()) == 0
    assert s.view_info['positive']['frame'] != 1
