# Copyright (c) mmfer contributors. All rights reserved.
import os
import os.path as osp

import numpy as np
import pytest

from mmfer.datasets import VoxCelebFrames, load_landmarks, save_landmarks
from mmfer.datasets.synthetic import write_voxceleb


@pytest.fixture(scope='module')
def vox(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('vox'))
    write_voxceleb(root, num_identities=2, videos_per_identity=2, frames_per_video=6,
                   image_size=32, seed=0)
    return root


def test_items_and_frame_index(vox):
    ds = VoxCelebFrames(data_root=vox, landmark_file='landmarks.npz', fps=2)
    assert len(ds) == 24 and ds.num_identities == 2 and ds.num_videos == 4
    idx = ds.frame_index
    info = ds.get_data_info(7)
    assert info['frame_index'] is idx  # shared, not copied
    assert info['identity'] == 0 and info['video'] == 1 and info['frame'] == 2
    assert info['img_path'].endswith(osp.join('id10001', 'vid_001', '00002.jpg'))
    assert info['frame_pos'] == 7 and info['gt_keypoints'].shape == (68, 2)
    lm = load_landmarks(osp.join(vox, 'landmarks.npz'))
    np.testing.assert_array_equal(info['gt_keypoints'], lm['id10001/vid_001/00002.jpg'][0])
    np.testing.assert_array_equal(idx.video_start, [0, 6, 12, 18])
    np.testing.assert_array_equal(idx.times(7), np.arange(1, 7) / 2)
    # frames 1..6 at 2 fps span 2.5 s: no frame has a partner >= 3 s away
    assert ds.num_without_hardneg == 24
    assert VoxCelebFrames(data_root=vox, fps=25, anchor_stride=3).__len__() == 8


def test_missing_landmarks_short_videos_and_bad_names(vox, tmp_path):
    lm = load_landmarks(osp.join(vox, 'landmarks.npz'))
    keep = sorted(lm)[:-5]
    save_landmarks(str(tmp_path / 'part.npz'), keep, np.stack([lm[k][0] for k in keep]))
    ds = VoxCelebFrames(data_root=vox, landmark_file=str(tmp_path / 'part.npz'))
    assert len(ds) == 24  # nothing dropped
    assert int((~ds.frame_index.has_keypoints).sum()) == 5
    assert sum('gt_keypoints' not in ds.get_data_info(i) for i in range(24)) == 5

    short = tmp_path / 'short.txt'  # video 000 of id10001 listed with a single frame
    short.write_text('# frames\nid10001/vid_000/00001.jpg\n' + ''.join(
        f'id10001/vid_001/{k:05d}.jpg\n' for k in range(1, 4)))
    ds = VoxCelebFrames(data_root=vox, ann_file=str(short), min_frames=2)
    assert ds.num_dropped_videos == 1 and len(ds) == 3 and ds.num_videos == 1
    with pytest.raises(ValueError, match='>= 7 frames'):
        VoxCelebFrames(data_root=vox, min_frames=7)

    bad = tmp_path / 'bad' / 'id1' / 'v1'
    bad.mkdir(parents=True)
    (bad / 'frame_a.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='frame_a.jpg.*not an integer'):
        VoxCelebFrames(data_root=str(tmp_path / 'bad'))
    flat = tmp_path / 'flat'
    flat.mkdir()
    (flat / '00001.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='<identity>/<video>/<frame>'):
        VoxCelebFrames(data_root=str(flat))
    lst = tmp_path / 'list.txt'
    lst.write_text('id10001/vid_000/00001.jpg\nid10001/vid_000/00002.jpg\nid10001/vid_000/x.jpg\n')
    with pytest.raises(ValueError, match=r'list.txt:3'):
        VoxCelebFrames(data_root=vox, ann_file=str(lst))
    os.remove(bad / 'frame_a.jpg')
