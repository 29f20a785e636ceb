# Copyright (c) mmfer contributors. All rights reserved.
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmfer.datasets.affwild2 import AU_NAMES, EXPR_CLASSES
from mmfer.registry import DATASETS, DATA_SAMPLERS

EXPR_DIR = 'annotations/EXPR_Classification_Challenge'
VA_DIR = 'annotations/VA_Estimation_Challenge'
AU_DIR = 'annotations/AU_Detection_Challenge'


def _write_ann(root, track_dir, split_dir, video, header, lines):
    folder = osp.join(root, track_dir, split_dir)
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, f'{video}.txt'), 'w') as f:
        f.write('\n'.join([header] + [str(x) for x in lines]) + '\n')


def _write_images(root, video, frames, size=16):
    folder = osp.join(root, 'cropped_aligned', video)
    os.makedirs(folder, exist_ok=True)
    for fr in frames:
        img = np.full((size, size, 3), (fr * 20) % 256, np.uint8)
        cv2.imwrite(osp.join(folder, f'{fr:05d}.jpg'), img)


def make_expr_tree(root):
    """A handcrafted EXPR tree with known counts (see the asserts)."""
    header = ','.join(EXPR_CLASSES)
    # video1: 12 frames; frame 3 and 6 unannotated; frame 4 and 6 have no image
    _write_ann(root, EXPR_DIR, 'Train_Set', 'video1', header,
               [0, 1, -1, 2, 3, -1, 4, 5, 6, 7, 0, 0])
    _write_images(root, 'video1', [1, 2, 3, 5, 7, 8, 9, 10, 11, 12])
    # a left/right pair: two videos with their own image folders
    _write_ann(root, EXPR_DIR, 'Train_Set', '10-60-1280x720_left', header, [4, 4, 4, 4, 4])
    _write_images(root, '10-60-1280x720_left', range(1, 6))
    _write_ann(root, EXPR_DIR, 'Train_Set', '10-60-1280x720_right', header, [1, 2, 3])
    # (no image folder for the right video)
    _write_ann(root, EXPR_DIR, 'Validation_Set', 'video3', header, [7, -1, 6])
    _write_images(root, 'video3', [1, 2, 3])


def test_expr_counts_labels_and_order(tmp_path):
    root = str(tmp_path)
    make_expr_tree(root)
    ds = DATASETS.build(dict(type='AffWild2Expr', data_root=root, split='train', pipeline=[]))
    assert ds.stats == dict(videos=3, lines=20, unannotated=2, partial=0, missing_images=4,
                            videos_without_image_folder=1, samples=14)
    assert len(ds) == 14
    assert ds.frame_interval == 10 and ds.metainfo['classes'] == EXPR_CLASSES
    items = [ds.get_data_info(i) for i in range(len(ds))]
    # videos sorted by name, frames in order
    assert [(i['video'], i['frame'], i['gt_label']) for i in items] == (
        [('10-60-1280x720_left', f, 4) for f in range(1, 6)] +
        [('video1', f, lab) for f, lab in [(1, 0), (2, 1), (5, 3), (7, 4), (8, 5), (9, 6),
                                          (10, 7), (11, 0), (12, 0)]])
    assert items[0]['img_path'] == osp.join(root, 'cropped_aligned', '10-60-1280x720_left',
                                            '00001.jpg')
    assert all(osp.isfile(i['img_path']) for i in items)
    assert ds.get_cat_ids(5) == [0] and list(ds.get_gt_labels()[5:8]) == [0, 1, 3]
    infos = {v['video']: v for v in ds.video_infos}
    assert infos['10-60-1280x720_right']['num_frames'] == 3
    assert infos['10-60-1280x720_right']['num_samples'] == 0
    assert infos['video1']['num_frames'] == 12 and infos['video1']['num_samples'] == 9

    val = DATASETS.build(dict(type='AffWild2Expr', data_root=root, split='val',
                              pipeline=[dict(type='LoadFaceImage')]))
    assert val.frame_interval == 1 and val.test_mode
    assert len(val) == 2 and val.stats['unannotated'] == 1
    assert [(i['frame'], i['gt_label']) for i in (val.get_data_info(0), val.get_data_info(1))
            ] == [(1, 7), (3, 6)]
    assert val[1]['img'].shape == (16, 16, 3)
    # keep_unannotated keeps the -1 frames that have an image (for the submission writer)
    full = DATASETS.build(dict(type='AffWild2Expr', data_root=root, split='val',
                               keep_unannotated=True))
    assert [full.get_data_info(i)['gt_label'] for i in range(len(full))] == [7, -1, 6]


def test_expr_bad_files_name_file_and_line(tmp_path):
    header = ','.join(EXPR_CLASSES)
    cases = [
        ('Neutral,Anger', [0], r'bad\.txt:1: expected the header line'),
        (header, [0, 9], r'bad\.txt:3: label 9 is outside'),
        (header, [0, 'happy'], r'bad\.txt:3: expected one integer'),
        (header, [0, '', 1], r'bad\.txt:3: blank line'),
    ]
    for i, (hdr, lines, pattern) in enumerate(cases):
        root = str(tmp_path / str(i))
        _write_ann(root, EXPR_DIR, 'Train_Set', 'bad', hdr, lines)
        with pytest.raises(ValueError, match=pattern):
            DATASETS.build(dict(type='AffWild2Expr', data_root=root, split='train'))
    with pytest.raises(FileNotFoundError, match='Validation_Set'):
        DATASETS.build(dict(type='AffWild2Expr', data_root=str(tmp_path / '0'), split='val'))
    with pytest.raises(ValueError, match='split'):
        DATASETS.build(dict(type='AffWild2Expr', data_root=str(tmp_path), split='test'))


def test_va_and_au_tracks(tmp_path):
    root = str(tmp_path)
    _write_ann(root, VA_DIR, 'Train_Set', 'v1', 'valence,arousal',
               ['0.5,-0.25', '-5,-5', '1,1', '-5,0.3', '-0.1,0.2'])
    _write_images(root, 'v1', [1, 2, 3, 4])  # frame 5 has no image
    va = DATASETS.build(dict(type='AffWild2VA', data_root=root, split='train'))
    assert va.stats['lines'] == 5 and va.stats['unannotated'] == 2
    assert va.stats['missing_images'] == 1 and len(va) == 2
    np.testing.assert_allclose(va.get_data_info(0)['gt_va'], [0.5, -0.25])
    np.testing.assert_allclose(va.get_data_info(1)['gt_va'], [1.0, 1.0])
    assert va.get_data_info(1)['frame'] == 3
    _write_ann(root, VA_DIR, 'Validation_Set', 'v2', 'valence,arousal', ['0.1,1.5'])
    with pytest.raises(ValueError, match=r'v2\.txt:2: valence/arousal'):
        DATASETS.build(dict(type='AffWild2VA', data_root=root, split='val'))

    au_lines = ['1,0,0,1,0,0,1,0,0,0,1,0', ','.join(['-1'] * 12),
                '0,0,-1,1,0,0,0,0,0,0,0,1', '1,1,1,1,1,1,1,1,1,1,1,1']
    _write_ann(root, AU_DIR, 'Train_Set', 'v1', ','.join(AU_NAMES), au_lines)
    au = DATASETS.build(dict(type='AffWild2AU', data_root=root, split='train'))
    assert au.stats['unannotated'] == 1 and au.stats['partial'] == 1 and len(au) == 3
    item = au.get_data_info(1)
    assert item['frame'] == 3
    np.testing.assert_array_equal(item['gt_score'], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(item['au_mask'], [1, 1, 0] + [1] * 9)
    _write_ann(root, AU_DIR, 'Validation_Set', 'v1', ','.join(AU_NAMES), ['1,0,2'])
    with pytest.raises(ValueError, match=r'v1\.txt:2: expected 12'):
        DATASETS.build(dict(type='AffWild2AU', data_root=root, split='val'))


def _long_tree(root, videos=4, frames=40):
    header = ','.join(EXPR_CLASSES)
    rng = np.random.default_rng(0)
    for v in range(videos):
        labels = rng.integers(0, 8, size=frames)
        labels[:frames // 2] = 0  # class 0 is 4x more frequent than the others together
        _write_ann(root, EXPR_DIR, 'Train_Set', f'vid{v}', header, labels.tolist())
        folder = osp.join(root, 'cropped_aligned', f'vid{v}')
        os.makedirs(folder, exist_ok=True)
        for fr in range(1, frames + 1):
            open(osp.join(folder, f'{fr:05d}.jpg'), 'wb').close()


def test_frame_interval_sampling_per_video_and_epoch(tmp_path):
    root = str(tmp_path)
    _long_tree(root)
    ds = DATASETS.build(dict(type='AffWild2Expr', data_root=root, split='train',
                             frame_interval=10, seed=3))
    assert len(ds) == 160
    frames = np.array([ds.get_data_info(i)['frame'] for i in range(len(ds))])
    videos = np.array([ds.get_data_info(i)['video'] for i in range(len(ds))])
    offsets_per_epoch = []
    for epoch in range(6):
        idx = ds.sample_indices(epoch)
        assert len(idx) == 16  # 4 videos x one frame in ten of 40
        np.testing.assert_array_equal(idx, ds.sample_indices(epoch, seed=3))  # seedable
        offs = []
        for v in range(4):
            f = frames[idx][videos[idx] == f'vid{v}']
            assert len(f) == 4 and len(set((f - 1) % 10)) == 1  # one offset per video
            assert np.all(np.diff(f) == 10)
            offs.append(int((f[0] - 1) % 10))
        offsets_per_epoch.append(tuple(offs))
    assert len(set(offsets_per_epoch)) > 1  # redrawn per epoch
    assert len({o for offs in offsets_per_epoch for o in offs}) > 1  # and per video
    assert not np.array_equal(ds.sample_indices(0, seed=4), ds.sample_indices(0))

    sampler = DATA_SAMPLERS.build(dict(type='VideoFrameSampler', dataset=ds, seed=3))
    first = list(iter(sampler))
    assert len(first) == len(sampler) == 16
    assert sorted(first) == sorted(ds.sample_indices(0, seed=3).tolist())
    sampler.set_epoch(1)
    second = list(iter(sampler))
    assert sorted(second) == sorted(ds.sample_indices(1, seed=3).tolist())
    assert set(first) != set(second)


def test_sampler_sharding_and_class_balance(tmp_path, monkeypatch):
    root = str(tmp_path)
    _long_tree(root)
    ds = DATASETS.build(dict(type='AffWild2Expr', data_root=root, split='train',
                             frame_interval=1))
    import mmfer.datasets.samplers.video_frame_sampler as mod
    shards = []
    for rank in range(2):
        monkeypatch.setattr(mod, 'get_dist_info', lambda rank=rank: (rank, 2))
        s = mod.VideoFrameSampler(ds, seed=0)
        s.set_epoch(2)
        shards.append(list(iter(s)))
    assert len(shards[0]) == len(shards[1]) == 80
    assert sorted(shards[0] + shards[1]) == list(range(160))  # disjoint, complete
    monkeypatch.setattr(mod, 'get_dist_info', lambda: (0, 1))

    labels = ds.get_gt_labels()
    plain_share = np.mean(labels == 0)
    assert plain_share > 0.5
    sampler = DATA_SAMPLERS.build(dict(type='ClassBalancedSampler', dataset=ds, seed=0))
    drawn = []
    for epoch in range(25):
        sampler.set_epoch(epoch)
        drawn.extend(iter(sampler))
    counts = np.bincount(labels[drawn], minlength=8) / len(drawn)
    assert np.all(np.abs(counts - 1 / 8) < 0.03), counts
    va_dir = tmp_path / 'va'
    _write_ann(str(va_dir), VA_DIR, 'Train_Set', 'v', 'valence,arousal', ['0,0'])
    _write_images(str(va_dir), 'v', [1])
    va = DATASETS.build(dict(type='AffWild2VA', data_root=str(va_dir), split='train'))
    with pytest.raises(TypeError, match='no class labels'):
        DATA_SAMPLERS.build(dict(type='ClassBalancedSampler', dataset=va, seed=0))


def _count_expected(root, track_dir, split_dir, videos, marker):
    """Independent count: lines, unannotated lines, annotated frames without image."""
    folder = osp.join(root, track_dir, split_dir)
    lines = unannotated = missing = 0
    for name in sorted(os.listdir(folder)):
        video = name[:-4]
        rows = open(osp.join(folder, name)).read().splitlines()[1:]
        lines += len(rows)
        for f, row in enumerate(rows, start=1):
            values = [float(x) for x in row.split(',')]
            if (marker in values) if marker == -5 else all(v == marker for v in values):
                unannotated += 1
            elif f in videos[video]['missing']:
                missing += 1
    return lines, unannotated, missing


def test_synthetic_release_tree_exact_counts(tmp_path):
    from mmfer.datasets.synthetic.writers import write_affwild2
    root = str(tmp_path / 'affwild2')
    info = write_affwild2(root, num_videos=5, frames_per_video=16, image_size=32, seed=3,
                          unannotated_fraction=0.2, missing_fraction=0.15)
    videos = info['videos']
    assert any(v.endswith('_left') for v in videos) and any(v.endswith('_right')
                                                            for v in videos)
    for track, track_dir, marker in [('AffWild2Expr', EXPR_DIR, -1),
                                     ('AffWild2VA', VA_DIR, -5),
                                     ('AffWild2AU', AU_DIR, -1)]:
        for split, split_dir in [('train', 'Train_Set'), ('val', 'Validation_Set')]:
            names = sorted(v for v, i in videos.items() if i['set'] == split_dir)
            ds = DATASETS.build(dict(type=track, data_root=root, split=split))
            lines, unannotated, missing = _count_expected(root, track_dir, split_dir,
                                                          videos, marker)
            assert lines == sum(videos[v]['num_frames'] for v in names)
            assert ds.stats['videos'] == len(names)
            assert ds.stats['lines'] == lines
            assert ds.stats['unannotated'] == unannotated
            assert ds.stats['missing_images'] == missing
            assert len(ds) == lines - unannotated - missing
            got = {(ds.get_data_info(i)['video'], ds.get_data_info(i)['frame'])
                   for i in range(len(ds))}
            assert all(f not in videos[v]['missing'] for v, f in got)
            assert {v for v, _ in got} <= set(names)
            assert all(osp.isfile(ds.get_data_info(i)['img_path']) for i in range(len(ds)))
