# Copyright (c) mmfer contributors. All rights reserved.
import numpy as np
import pytest

from mmfer.evaluation.abaw5 import (EXPR_HEADER, check_smoothing, expr_metrics, fill_labels,
                                    smooth_logits, video_labels, write_expr_submission)


def test_smoothing_and_carry_over():
    x = np.array([[0., 1.], [3., 0.], [0., 2.], [9., 0.], [0., 4.]])
    mean = smooth_logits(x, 'mean', 3)
    np.testing.assert_allclose(mean[0], [1.5, 0.5])  # window truncated at the ends
    np.testing.assert_allclose(mean[2], [4.0, 2 / 3])
    med = smooth_logits(x, 'median', 3)
    np.testing.assert_allclose(med[:, 0], [1.5, 0, 3, 0, 4.5])
    np.testing.assert_allclose(smooth_logits(x, 'none', 3), x)
    np.testing.assert_allclose(smooth_logits(x, 'mean', 1), x)
    np.testing.assert_allclose(smooth_logits(x, 'mean', 99)[0], x.mean(0))
    filled = fill_labels(8, np.array([2, 3, 6]), np.array([5, 1, 7]))
    np.testing.assert_array_equal(filled, [5, 5, 1, 1, 1, 7, 7, 7])
    with pytest.raises(ValueError, match='at least one'):
        fill_labels(3, np.array([]), np.array([]))


@pytest.mark.parametrize('method,window', [('mean', 4), ('median', 0), ('mean', -3),
                                           ('gauss', 3), ('mean', 2.0), ('mean', True)])
def test_bad_smoothing_arguments(method, window):
    with pytest.raises(ValueError, match='--window must be a positive odd|unknown smoothing'):
        check_smoothing(method, window)
    with pytest.raises(ValueError):
        smooth_logits(np.zeros((3, 2)), method, window)


def test_video_labels_and_submission_files(tmp_path):
    # video a: 5 listed frames, images for 2, 3, 5; video b: 2 frames, no image at all
    infos = [dict(video='a', num_frames=5, first=0, num_samples=3),
             dict(video='b', num_frames=2, first=3, num_samples=0)]
    frames = np.array([2, 3, 5])
    logits = np.array([[0., 5., 0.], [9., 0., 0.], [0., 0., 1.]])
    labels, no_image = video_labels(infos, frames, logits)
    np.testing.assert_array_equal(labels['a'], [1, 1, 0, 0, 2])
    np.testing.assert_array_equal(labels['b'], [0, 0])
    assert no_image == ['b']
    smoothed, _ = video_labels(infos, frames, logits, 'mean', 3)
    # frame 2: mean(logits 2,3) = [4.5, 2.5, 0]; frame 3: mean of all = [3, 5/3, 1/3];
    # frame 5: mean(logits 3,5) = [4.5, 0, 0.5]
    np.testing.assert_array_equal(smoothed['a'], [0, 0, 0, 0, 0])
    path = write_expr_submission(str(tmp_path / 'sub'), ['a', 'b'], labels)
    lines = open(path).read().splitlines()
    assert lines[0] == 'image_location,' + EXPR_HEADER
    assert lines[1:] == ['a/00001.jpg,1', 'a/00002.jpg,1', 'a/00003.jpg,0', 'a/00004.jpg,0',
                         'a/00005.jpg,2', 'b/00001.jpg,0', 'b/00002.jpg,0']
    per_video = open(tmp_path / 'sub' / 'a.txt').read().splitlines()
    assert per_video == [EXPR_HEADER, '1', '1', '0', '0', '2']


def test_expr_metrics_against_sklearn():
    from sklearn.metrics import f1_score
    rng = np.random.default_rng(0)
    gt = rng.integers(-1, 8, 200)
    pred = np.where(rng.random(200) < 0.5, gt, rng.integers(0, 8, 200)).clip(0)
    m = expr_metrics(pred, gt)
    valid = gt >= 0
    ref = 100 * f1_score(gt[valid], pred[valid], labels=list(range(8)), average='macro',
                         zero_division=0)
    assert m['macro_f1'] == pytest.approx(ref, abs=1e-9)
    assert m['num_frames'] == 200 and m['num_annotated'] == valid.sum()
    assert m['accuracy'] == pytest.approx(100 * (pred[valid] == gt[valid]).mean())
    assert set(m['per_class_f1']) == set(EXPR_HEADER.split(','))
    assert 'macro_f1' not in expr_metrics(pred[:3], np.full(3, -1))


def test_test_set_frame_list(tmp_path):
    from mmfer.evaluation.abaw5 import list_test_frames, read_frame_list
    path = tmp_path / 'test_set.txt'
    path.write_text('image_location,Neutral,Anger\nvidA/00002.jpg,\nvidA/00005.jpg\n\n'
                    'vidB\nvidC/00001.jpg,3\n')
    listed = read_frame_list(str(path))
    assert listed == {'vidA': [2, 5], 'vidB': None, 'vidC': [1]}
    root = tmp_path / 'cropped_aligned'
    for video, frames in (('vidA', [2, 3]), ('vidB', [1, 4]), ('vidC', [])):
        (root / video).mkdir(parents=True)
        for f in frames:
            (root / video / f'{f:05d}.jpg').write_bytes(b'x')
    infos, samples = list_test_frames(listed, str(root))
    assert [(i['video'], i['frames'], i['first'], i['num_samples']) for i in infos] == [
        ('vidA', [2, 5], 0, 1), ('vidB', [1, 2, 3, 4], 1, 2), ('vidC', [1], 3, 0)]
    assert [(s['video'], s['frame']) for s in samples] == [('vidA', 2), ('vidB', 1),
                                                            ('vidB', 4)]
    # labels at the listed frames: frames without an image carry the previous one
    logits = np.array([[0, 1.], [1, 0], [0, 1]])
    frames = np.array([s['frame'] for s in samples])
    labels, no_image = video_labels(infos, frames, logits)
    assert no_image == ['vidC']
    assert labels['vidA'].tolist() == [1, 1] and labels['vidB'].tolist() == [0, 0, 0, 1]
    sub = write_expr_submission(str(tmp_path / 'out'), ['vidA', 'vidB', 'vidC'], labels,
                                {i['video']: i['frames'] for i in infos})
    lines = open(sub).read().splitlines()[1:]
    assert lines == ['vidA/00002.jpg,1', 'vidA/00005.jpg,1', 'vidB/00001.jpg,0',
                     'vidB/00002.jpg,0', 'vidB/00003.jpg,0', 'vidB/00004.jpg,1',
                     'vidC/00001.jpg,0']
    np.testing.assert_array_equal(fill_labels(np.array([1, 4, 9]), np.array([2, 5]),
                                              np.array([3, 6])), [3, 3, 6])


@pytest.mark.parametrize('text,message', [
    ('vidA/00003.jpg\nvidA/00002.jpg\n', ':2: frame 2 of vidA is not after'),
    ('vidA/abc.jpg\n', ':1: expected <video>/<frame number>.jpg or <video>'),
    ('vidA\nvidA/00001.jpg\n', ':2: video \'vidA\' was listed as a whole video'),
    ('vidA\nvidA\n', ':2: video \'vidA\' is listed twice'),
    ('image_location,Neutral\n', 'lists no frame'),
])
def test_bad_frame_lists(tmp_path, text, message):
    from mmfer.evaluation.abaw5 import read_frame_list
    path = tmp_path / 'list.txt'
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_frame_list(str(path))
    with pytest.raises(FileNotFoundError, match='frame list'):
        read_frame_list(str(tmp_path / 'none.txt'))
