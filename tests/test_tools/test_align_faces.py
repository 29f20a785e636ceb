# Copyright (c) mmfer contributors. All rights reserved.
"""Bulk detect + align (mmfer.apis.face_detection.bulk) and its CLI
tools/dataset_converters/align_faces.py, on synthetic videos and a real photo."""
import csv
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmfer.apis.face_detection import (align_folder, build_face_detector, extract_frames,
                                       extract_frames_tree, read_faces_csv)
from mmfer.datasets.synthetic import SyntheticFaceGenerator
from mmfer.datasets.transforms import get_face_template, keypoints68_to_5
from mmfer.datasets.transforms.align_face import estimate_face_alignment, transform_points

pytest.importorskip('dlib', reason='the [dlib] extra is not installed')


def _write_video(path, frames, fps):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()


@pytest.mark.parametrize('src_fps,n_src,n_out', [(30, 15, 13), (10, 5, 13), (25, 10, 10)])
def test_extract_frames_resamples(tmp_path, src_fps, n_src, n_out):
    """Output frame k shows the source frame on screen at k / 25 s (dropped or repeated)."""
    levels = [20 + 12 * i for i in range(n_src)]
    _write_video(tmp_path / 'v.avi', [np.full((32, 32, 3), v, np.uint8) for v in levels],
                 src_fps)
    n = extract_frames(str(tmp_path / 'v.avi'), str(tmp_path / 'frames'), fps=25)
    assert n == n_out == len(os.listdir(tmp_path / 'frames'))
    for k in range(n):
        got = cv2.imread(str(tmp_path / 'frames' / f'{k + 1:05d}.jpg')).mean()
        assert abs(got - levels[int(k * src_fps // 25)]) < 4, (k, got)
    with pytest.raises(OSError, match='cannot open video'):
        extract_frames(str(tmp_path / 'missing.avi'), str(tmp_path / 'x'))


def test_synthetic_video_tree_detect_align_resume(tmp_path):
    """Videos -> 25 fps frames -> dlib -> ArcFace crops; the detected points match the
    generator's exact landmarks; a re-run resumes."""
    gen = SyntheticFaceGenerator(image_size=112, seed=0)
    truth = {}
    for ident in (0, 1):
        frames = gen.render_video(identity=ident, num_frames=8, seed=ident)
        os.makedirs(tmp_path / 'videos' / f'id{ident}')
        _write_video(tmp_path / 'videos' / f'id{ident}' / 'clip.avi',
                     [f['img'] for f in frames], 25)
        for f in frames:
            truth[f'id{ident}/clip/{f["frame"] + 1:05d}.jpg'] = keypoints68_to_5(f['keypoints'])
    counts = extract_frames_tree(str(tmp_path / 'videos'), str(tmp_path / 'frames'),
                                 progress=False)
    assert counts == {'id0/clip.avi': 8, 'id1/clip.avi': 8}
    assert extract_frames_tree(str(tmp_path / 'videos'), str(tmp_path / 'frames'),
                               progress=False) == counts  # resumed from the markers
    out = tmp_path / 'aligned'
    det = build_face_detector('dlib')  # built once: loading the 68-point model takes ~1 s
    stats = align_folder(str(tmp_path / 'frames'), str(out), detector=det,
                         template='arcface_112', batch_size=5, progress=False)
    assert stats['images'] == 16 and stats['aligned'] == 16 and stats['failed'] == 0
    rows, pts = read_faces_csv(str(out / 'faces.csv'))
    assert sorted(r['image'] for r in rows) == sorted(truth)
    dst, _ = get_face_template('arcface_112')
    for row, p in zip(rows, pts):
        crop = cv2.imread(str(out / row['crop']))
        assert crop.shape == (112, 112, 3)
        eye_err = np.linalg.norm(p[:2] - truth[row['image']][:2], axis=1)
        assert eye_err.max() < 4, (row['image'], eye_err)
        # the generator's eyes land on the template's eyes in the crop (within 6 px)
        m = estimate_face_alignment(p, dst)
        assert np.linalg.norm(transform_points(truth[row['image']][:2], m) - dst[:2],
                              axis=1).max() < 6
    # resume: nothing to do; a deleted crop is redone
    again = align_folder(str(tmp_path / 'frames'), str(out), detector=det, progress=False)
    assert again['skipped'] == 16 and again['aligned'] == 0
    os.remove(out / 'id0/clip/00003.jpg')
    again = align_folder(str(tmp_path / 'frames'), str(out), detector=det, progress=False)
    assert again['skipped'] == 15 and again['aligned'] == 1
    assert (out / 'id0/clip/00003.jpg').is_file()
    with pytest.raises(ValueError, match='holds 2 videos: extract their frames first'):
        align_folder(str(tmp_path / 'videos'), str(tmp_path / 'x'), detector=det)


@pytest.fixture
def photo_tree(tmp_path):
    skimage_data = pytest.importorskip('skimage.data')
    root = tmp_path / 'photos'
    os.makedirs(root / 'sub')
    cv2.imwrite(str(root / 'sub' / 'astronaut.png'), skimage_data.astronaut()[..., ::-1])
    cv2.imwrite(str(root / 'blank.png'), np.full((120, 160, 3), 127, np.uint8))
    (root / 'broken.jpg').write_bytes(b'not a jpeg')
    return root


def test_failures_are_listed_with_reasons(photo_tree, tmp_path):
    out = tmp_path / 'out'
    stats = align_folder(str(photo_tree), str(out),
                         detector=dict(type='dlib', score_thr=0.5), template='emoco_256',
                         progress=False)
    assert (stats['images'], stats['aligned'], stats['failed']) == (3, 1, 2)
    assert stats['unreadable'] == 1 and stats['no_face'] == 1
    with open(out / 'failures.csv', newline='') as f:
        assert sorted(map(tuple, csv.reader(f))) == sorted(
            [('image', 'reason'), ('blank.png', 'no_face'), ('broken.jpg', 'unreadable')])
    assert cv2.imread(str(out / 'sub' / 'astronaut.png')).shape == (256, 256, 3)
    # select='all' at dlib's default threshold also aligns the suit false positive
    stats = align_folder(str(photo_tree), str(tmp_path / 'all'), detector='dlib',
                         select='all', ext='.jpg', progress=False)
    assert stats['faces'] == 2
    assert sorted(os.listdir(tmp_path / 'all' / 'sub')) == ['astronaut_face0.jpg',
                                                            'astronaut_face1.jpg']


def test_cli(photo_tree, tmp_path, repo_root):
    out = tmp_path / 'cli'
    proc = subprocess.run(
        [sys.executable, 'tools/dataset_converters/align_faces.py', str(photo_tree), str(out),
         '--detector-cfg', 'score_thr=0.5', 'landmarks=68', '--template', 'rafdb_100',
         '--no-progress'], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats['aligned'] == 1 and stats['failed'] == 2
    assert cv2.imread(str(out / 'sub' / 'astronaut.png')).shape == (100, 100, 3)
