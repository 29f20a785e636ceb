# Copyright (c) mmfer contributors. All rights reserved.
"""SyntheticFaceDataset / SyntheticFaceVideoDataset: deterministic items, the pipelines run."""
import pickle

import mmengine.fileio as fileio
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate

from mmfer.datasets.synthetic import (EXPRESSION_CLASSES, SyntheticFaceDataset,
                                      SyntheticFaceGenerator, SyntheticFaceVideoDataset)
from mmfer.datasets.synthetic import dataset as synth_dataset
from mmfer.registry import DATASETS

S = 32
CONTRAWARP_VIEWS = dict(
    type='ContraWarpViews',
    view_pipelines=[[dict(type='FaceResize', scale=S), dict(type='FaceRandomFlip', prob=0.5)],
                    [dict(type='RandomResizedCrop', scale=S, crop_ratio_range=(0.3, 1.0)),
                     dict(type='RandomFlip', prob=0.5)]],
    warp=dict(type='RandomLocalWarp', num_warps=2, center_mode='landmark'),
    codec=dict(type='MSRAHeatmap', input_size=(S, S), heatmap_size=(S // 4, S // 4),
               sigma=1.5))
BYOL_PIPELINE = [
    dict(type='MultiView', num_views=2,
         transforms=[[dict(type='RandomResizedCrop', scale=S), dict(type='RandomFlip',
                                                                    prob=0.5)]]),
    dict(type='PackInputs'),
]
VIEW = [dict(type='FaceResize', scale=S + 4), dict(type='RandomCrop', crop_size=S)]
SSLFER_PIPELINE = [
    dict(type='LoadFaceImage'),
    dict(type='TimeAug', max_offset=1.0),
    dict(type='FaceSwap', prob=1.0),
    dict(type='HardNeg', min_offset=3.0),
    dict(type='ApplyToViews', transforms=VIEW, views=('anchor', 'positive', 'hardneg')),
    dict(type='PackMultiViewInputs', view_roles=('anchor', 'positive', 'hardneg'),
         data_keys=('identity', 'video', 'frame', 'time_offset', 'hardneg_valid',
                    'face_swapped')),
]


def _stills(**kw):
    args = dict(num_samples=40, num_identities=6, image_size=S, seed=3)
    args.update(kw)
    return SyntheticFaceDataset(**args)


# ----------------------------------------------------------------------------------- stills
def test_still_items_like_face_folder_and_deterministic():
    ds = _stills()
    assert len(ds) == 40
    a, b = ds[7], _stills()[7]
    assert a['img'].shape == (S, S, 3) and a['img'].dtype == np.uint8
    assert np.array_equal(a['img'], b['img'])                  # same arguments, same face
    assert a['keypoints'].shape == (1, 68, 2) and a['keypoints'].dtype == np.float32
    assert a['keypoints_visible'].shape == a['keypoint_scores'].shape == (1, 68)
    assert a['has_landmarks'] is True and a['img_shape'] == a['ori_shape'] == (S, S)
    assert a['img_path'] == f'synthface://{ds.token}/7.png' and a['sample_idx'] == 7
    # the item is the generator's face for the item's draws
    d = ds.draw(7)
    face = SyntheticFaceGenerator(S, seed=3).render(d['identity'], d['gt_label'],
                                                    d['intensity'], seed=d['render_seed'])
    assert np.array_equal(a['img'], face['img'])
    np.testing.assert_array_equal(a['keypoints'][0], face['keypoints'])
    assert (a['gt_label'], a['identity']) == (face['gt_label'], face['identity'])
    # items do not depend on the length; other indices and other sample seeds differ
    assert np.array_equal(_stills(num_samples=1000)[7]['img'], a['img'])
    assert not np.array_equal(ds[8]['img'], a['img'])
    assert not np.array_equal(_stills(sample_seed=99)[7]['img'], a['img'])
    assert ds.get_data_info(-1)['sample_idx'] == 39
    with pytest.raises(IndexError, match='out of range'):
        ds.get_data_info(40)


def test_still_draws_cover_identities_and_expressions():
    ds = _stills(num_samples=400, num_identities=5, identity_offset=100,
                 expressions=['happiness', 'anger'], intensity_range=(0.5, 0.7))
    draws = [ds.draw(i) for i in range(len(ds))]
    assert {d['identity'] for d in draws} == set(range(100, 105))
    assert {d['gt_label'] for d in draws} == {1, 6}
    assert all(0.5 <= d['intensity'] <= 0.7 for d in draws)
    assert ds.metainfo['classes'] == EXPRESSION_CLASSES
    assert ds.metainfo['expressions'] == ('happiness', 'anger')
    # identity and expression are drawn independently: both classes for most people
    per_id = {i: {d['gt_label'] for d in draws if d['identity'] == i} for i in range(100, 105)}
    assert all(v == {1, 6} for v in per_id.values())


@pytest.mark.parametrize('kw, match', [
    (dict(num_samples=0), 'num_samples'), (dict(num_identities=0), 'num_identities'),
    (dict(identity_offset=-1), 'identity_offset'), (dict(expressions=['joy']), 'expressions'),
    (dict(intensity_range=(0.8, 0.2)), 'intensity_range'), (dict(image_size=8), 'image_size'),
    (dict(expressions=['anger', 'anger']), 'repeat'),
])
def test_still_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        _stills(**kw)


def test_uri_is_readable_through_mmengine_fileio():
    ds = _stills()
    info = ds.get_data_info(3)
    buf = fileio.get(info['img_path'])
    from mmfer.datasets.transforms import decode_image
    assert np.array_equal(decode_image(buf, info['img_path']), ds[3]['img'])   # lossless
    from mmfer.registry import TRANSFORMS
    loaded = TRANSFORMS.build(dict(type='LoadFaceImage'))(dict(img_path=info['img_path']))
    assert np.array_equal(loaded['img'], ds[3]['img'])
    with pytest.raises(FileNotFoundError, match="no synthetic face dataset with token 'nope'"):
        fileio.get('synthface://nope/3.png')


def test_pickled_dataset_resolves_its_uris_in_a_new_process_state():
    """A spawned worker unpickles the dataset: its URIs must resolve there."""
    ds = _stills()
    blob = pickle.dumps(ds)
    synth_dataset._SOURCES.pop(ds.token)
    with pytest.raises(FileNotFoundError):
        fileio.get(ds.get_data_info(0)['img_path'])
    ds2 = pickle.loads(blob)
    assert ds2.source._gen is None                   # the generator is not pickled
    assert np.array_equal(ds2[5]['img'], _stills()[5]['img'])
    assert fileio.get(ds2.get_data_info(0)['img_path'])[:4] == b'\x89PNG'


def test_dataloader_workers_give_the_same_faces():
    ds = _stills()
    loader = torch.utils.data.DataLoader(ds, batch_size=5, num_workers=2,
                                         collate_fn=lambda b: b)
    seen = {}
    for batch in loader:
        for item in batch:
            seen[item['sample_idx']] = item['img']
    assert sorted(seen) == list(range(40))
    for i in (0, 17, 39):
        assert np.array_equal(seen[i], ds[i]['img'])


def test_contrawarp_and_byol_pipelines_run():
    np.random.seed(0)
    cw = DATASETS.build(dict(type='SyntheticFaceDataset', num_samples=8, num_identities=4,
                             image_size=S, pipeline=[CONTRAWARP_VIEWS,
                                                     dict(type='PackContraWarpInputs')]))
    batch = default_collate([cw[i] for i in range(2)])
    assert [tuple(x.shape) for x in batch['inputs']] == [(2, 3, S, S)] * 3
    s = batch['data_samples'][0]
    assert s.keypoints.shape == (2, 68, 2) and s.heatmaps.shape == (2, 68, S // 4, S // 4)
    assert s.has_landmarks and float(s.keypoint_weights.max()) == 1.0
    byol = DATASETS.build(dict(type='SyntheticFaceDataset', num_samples=8, num_identities=4,
                               image_size=48, pipeline=BYOL_PIPELINE))
    out = byol[1]
    assert [tuple(x.shape) for x in out['inputs']] == [(3, S, S)] * 2
    assert int(out['data_samples'].gt_label) == byol.draw(1)['gt_label']


# ----------------------------------------------------------------------------------- videos
def _videos(**kw):
    args = dict(num_identities=3, videos_per_identity=2, frames_per_video=100,
                image_size=S, seed=1)
    args.update(kw)
    return SyntheticFaceVideoDataset(**args)


def test_video_index_and_items_like_voxceleb_frames():
    ds = _videos(anchor_stride=10)
    idx = ds.frame_index
    assert len(idx) == 600 and len(ds) == 60 and ds.num_videos == 6
    assert idx.identity.tolist() == np.repeat([0, 0, 1, 1, 2, 2], 100).tolist()
    assert idx.video_slice(250) == slice(200, 300)
    assert idx.img_paths[250] == f'synthface://{ds.token}/2/00050.png'
    np.testing.assert_allclose(idx.times(5)[[0, -1]], [0.0, 99 / 25])
    info = ds.get_data_info(23)                         # video 2, frame 30
    assert (info['identity'], info['video'], info['frame'], info['frame_pos']) == (1, 2, 30, 230)
    assert info['frame_index'] is idx and info['img_path'] == idx.img_paths[230]
    # the frame is the generator's clip frame, its landmarks exact
    identity, clip_seed = ds.clip(2)
    gen = SyntheticFaceGenerator(S, seed=1)
    ref = gen.render_video(identity, num_frames=100, seed=clip_seed, video=2)[30]
    from mmfer.registry import TRANSFORMS
    loaded = TRANSFORMS.build(dict(type='LoadFaceImage'))(dict(info))
    assert np.array_equal(loaded['img'], ref['img'])
    np.testing.assert_array_equal(info['gt_keypoints'], ref['keypoints'])
    np.testing.assert_array_equal(idx.get_keypoints(230), ref['keypoints'])
    assert info['gt_label'] == ref['gt_label']
    # deterministic: another instance with the same arguments, same frame
    again = fileio.get(_videos(anchor_stride=10).get_data_info(23)['img_path'])
    assert again == fileio.get(info['img_path'])


def test_video_temporal_views_and_hard_negatives():
    np.random.seed(0)
    ds = _videos(frames_per_video=150, pipeline=SSLFER_PIPELINE)    # 6 s clips
    assert ds.num_without_hardneg == 0
    out = [ds[i] for i in (0, 75, 899)]
    for o in out:
        assert [tuple(x.shape) for x in o['inputs']] == [(3, S, S)] * 3
        s = o['data_samples']
        assert bool(s.hardneg_valid) and bool(s.face_swapped)
        info = s.metainfo['view_info']
        assert abs(info['hardneg']['time_offset']) >= 3.0
        assert 0 < abs(info['positive']['time_offset']) <= 1.0 + 1e-6
        assert info['positive']['swap_identity'] != int(s.identity)
    # 4 s clips: the 50 frames from 1.0 to 2.96 s have no frame 3 s away; 2 s clips: none has
    assert _videos().num_without_hardneg == 6 * 50
    short = _videos(frames_per_video=50, pipeline=SSLFER_PIPELINE)
    assert short.num_without_hardneg == 300
    assert not bool(short[10]['data_samples'].hardneg_valid)
    # the default clips (6 s at 25 fps) give every frame a hard negative
    assert SyntheticFaceVideoDataset(num_identities=1, image_size=S).num_without_hardneg == 0


def test_video_bad_arguments():
    for kw, match in ((dict(frames_per_video=1), 'frames_per_video'),
                      (dict(fps=0), 'fps'), (dict(anchor_stride=0), 'anchor_stride'),
                      (dict(segment_frames=(5, 2)), 'segment_frames')):
        with pytest.raises(ValueError, match=match):
            _videos(**kw)
    ds = _videos()
    with pytest.raises(FileNotFoundError, match='frame 100 outside'):
        fileio.get(f'synthface://{ds.token}/0/00100.png')
