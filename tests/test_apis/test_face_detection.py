# Copyright (c) mmfer contributors. All rights reserved.
"""Face detectors on a real photo (scikit-image's astronaut) and on synthetic faces."""
import pickle
import sys

import numpy as np
import pytest

from mmfer.apis import DetectorBoxSource, build_face_detector
from mmfer.apis.face_detection import DlibFaceDetector, keypoints_to_5
from mmfer.datasets.synthetic import SyntheticFaceGenerator
from mmfer.datasets.transforms import keypoints68_to_5
from mmfer.registry import FACE_DETECTORS

dlib = pytest.importorskip('dlib', reason='the [dlib] extra is not installed')

#: The astronaut's face as dlib's HOG detector reports it (left, top, right, bottom inclusive).
ASTRONAUT_FACE = (175, 76, 266, 167)


@pytest.fixture(scope='module')
def astronaut() -> np.ndarray:
    skimage_data = pytest.importorskip('skimage.data')
    return np.ascontiguousarray(skimage_data.astronaut()[..., ::-1])  # RGB -> BGR


@pytest.fixture(scope='module')
def hog() -> DlibFaceDetector:
    return build_face_detector('dlib')


def _iou(a, b) -> float:
    ix = max(0., min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0., min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_registry_names_and_unknown_detector():
    assert FACE_DETECTORS.get('dlib') is DlibFaceDetector
    assert FACE_DETECTORS.get('DlibFaceDetector') is DlibFaceDetector
    with pytest.raises(KeyError, match=r"unknown face detector 'retina'.*'dlib'.*'mtcnn'"):
        build_face_detector('retina')


def test_dlib_hog_finds_the_astronaut_face(hog, astronaut):
    faces = hog(astronaut)
    assert faces.metainfo['img_shape'] == (512, 512)
    assert faces.metainfo['keypoint_layout'] == 'ibug68'
    # the best-scoring box is the face
    np.testing.assert_allclose(faces.bboxes[0], ASTRONAUT_FACE, atol=4)
    assert faces.scores[0] > 1.0
    assert (np.diff(faces.scores) <= 0).all(), 'faces must be sorted by score'
    # at dlib's default threshold (0) the HOG detector also fires on the suit patch
    # (measured score 0.12, box ~(126, 335, 216, 426)): every other box is far weaker and
    # away from the face; a threshold of 0.5 leaves the face alone
    assert all(s < 0.5 and _iou(b, ASTRONAUT_FACE) == 0
               for b, s in zip(faces.bboxes[1:], faces.scores[1:]))
    strict = build_face_detector(dict(type='dlib', score_thr=0.5, landmarks=None))(astronaut)
    assert len(strict) == 1
    np.testing.assert_array_equal(strict.bboxes[0], faces.bboxes[0])
    # 68 landmarks and their 5-point reduction: eye centres ~(203, 101) and ~(246, 104)
    assert faces.keypoints.shape == (len(faces), 68, 2)
    np.testing.assert_allclose(faces.keypoints5[0], keypoints68_to_5(faces.keypoints[0]))
    np.testing.assert_allclose(faces.keypoints5[0, :2], [[203, 101.5], [246.5, 104]], atol=2)
    # max_faces keeps the best ones only
    assert len(build_face_detector('dlib', max_faces=1, landmarks=None)(astronaut)) == 1


def test_dlib_five_point_model_gives_the_eyes_only(hog, astronaut):
    faces = build_face_detector(dict(type='dlib', landmarks='5', score_thr=0.5))(astronaut)
    assert faces.keypoints.shape == (1, 5, 2) and faces.metainfo['keypoint_layout'] == 'dlib5'
    k5 = faces.keypoints5[0]
    assert np.isfinite(k5[:2]).all() and np.isnan(k5[2:]).all()
    # eye centres from the corners agree with the 68-point model's within 2 px
    np.testing.assert_allclose(k5[:2], hog(astronaut).keypoints5[0, :2], atol=2)


def test_dlib_boxes_only(astronaut):
    faces = build_face_detector(dict(type='dlib', landmarks=None, score_thr=0.5))(astronaut)
    assert 'keypoints' not in faces and np.isnan(faces.keypoints5).all()


def test_dlib_cnn_detector(astronaut):
    faces = build_face_detector(dict(type='dlib', model='cnn', upsample=0))(astronaut)
    assert len(faces) == 1  # the MMOD CNN does not fire on the suit
    assert _iou(faces.bboxes[0], ASTRONAUT_FACE) > 0.7


def test_mtcnn_agrees_with_dlib(hog, astronaut):
    pytest.importorskip('facenet_pytorch', reason='facenet-pytorch (mtcnn) is not installed')
    faces = build_face_detector('mtcnn')(astronaut)
    assert len(faces) == 1 and faces.scores[0] > 0.99
    assert faces.metainfo['keypoint_layout'] == 'five'
    assert _iou(faces.bboxes[0], ASTRONAUT_FACE) > 0.6
    # MTCNN's own 5 points vs dlib's 68-point reduction: eyes within 3 px, all within 4 px
    ref = hog(astronaut).keypoints5[0]
    err = np.linalg.norm(faces.keypoints5[0] - ref, axis=1)
    assert err[:2].max() < 3 and err.max() < 4, err


def test_mtcnn_batch_equals_single_images(astronaut):
    pytest.importorskip('facenet_pytorch', reason='facenet-pytorch (mtcnn) is not installed')
    det = build_face_detector('mtcnn')
    gen = SyntheticFaceGenerator(image_size=112, seed=0)
    imgs = [astronaut, gen.render(0, seed=0)['img'], gen.render(1, seed=1)['img']]
    batch = det.detect_batch(imgs)
    for img, res in zip(imgs, batch):
        single = det(img)
        np.testing.assert_allclose(res.bboxes, single.bboxes, atol=1e-3)
        np.testing.assert_allclose(res.keypoints5, single.keypoints5, atol=1e-3)


def test_dlib_detects_synthetic_video_frames(hog):
    """The generator's faces are detected; the 5 points land near its exact landmarks."""
    gen = SyntheticFaceGenerator(image_size=112, seed=0)
    errs = []
    for frame in gen.render_video(identity=2, num_frames=6, seed=3):
        faces = hog(frame['img'])
        assert len(faces) >= 1, f'no face in synthetic frame {frame["frame"]}'
        x1, y1, x2, y2 = faces.bboxes[0]
        eyes = frame['keypoints'][36:48]
        assert (eyes[:, 0] > x1).all() and (eyes[:, 0] < x2).all()
        assert (eyes[:, 1] > y1).all() and (eyes[:, 1] < y2).all()
        errs.append(np.linalg.norm(faces.keypoints5[0] - keypoints68_to_5(frame['keypoints']),
                                   axis=1))
    errs = np.array(errs)
    # measured: eyes ~1 px, nose tip ~3.4 px, mouth ~1.5 px mean error at 112 px
    assert errs[:, :2].mean() < 2.5 and errs.max() < 8, errs


def test_pickle_round_trip_rebuilds_dlib(hog, astronaut):
    clone = pickle.loads(pickle.dumps(hog))
    np.testing.assert_array_equal(clone(astronaut).bboxes, hog(astronaut).bboxes)


def test_box_source_gives_the_best_box(astronaut):
    source = DetectorBoxSource(dict(type='dlib', landmarks=None))
    np.testing.assert_allclose(source('astronaut.png', astronaut), ASTRONAUT_FACE, atol=4)
    assert source('flat.png', np.full((64, 64, 3), 128, np.uint8)) is None


def test_bad_images_are_refused(hog):
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8 BGR'):
        hog(np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match='uint8'):
        hog(np.zeros((32, 32, 3), np.float32))


def test_missing_backends_name_the_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, 'dlib', None)
    with pytest.raises(ImportError, match=r'pip install -e \.\[dlib\]'):
        build_face_detector('dlib')
    monkeypatch.setitem(sys.modules, 'facenet_pytorch', None)
    with pytest.raises(ImportError, match='--no-deps facenet-pytorch'):
        build_face_detector('mtcnn')


def test_missing_model_package_names_the_extra(monkeypatch):
    import mmfer.apis.face_detection.dlib_detector as mod
    monkeypatch.setattr(mod.importlib.util, 'find_spec', lambda name: None)
    with pytest.raises(ImportError, match=r'face-recognition-models.*\[dlib\]'):
        mod.dlib_model_file('68')


def test_keypoints_to_5_layouts():
    k68 = np.random.default_rng(0).uniform(0, 100, (2, 68, 2)).astype(np.float32)
    np.testing.assert_allclose(keypoints_to_5(k68, 'ibug68', 2), keypoints68_to_5(k68))
    d5 = np.array([[[10, 0], [8, 0], [0, 0], [2, 0], [5, 5]]], np.float32)
    out = keypoints_to_5(d5, 'dlib5', 1)
    np.testing.assert_allclose(out[0, :2], [[1, 0], [9, 0]])
    assert np.isnan(out[0, 2:]).all()
    assert np.isnan(keypoints_to_5(None, None, 3)).all()
    with pytest.raises(ValueError, match='unknown keypoint layout'):
        keypoints_to_5(d5, 'ibug98', 1)


@pytest.mark.parametrize('template,eye_tol', [('arcface_112', 4.0), ('emoco_256', 16.0)])
def test_astronaut_detected_and_aligned(hog, astronaut, template, eye_tol):
    """Detector + AlignFace: the eyes land on the template (a least-squares fit of all 5
    points: measured 3.4 px at 112 px and 14 px at 256 px, where SeetaFace's mouth sits lower
    than the astronaut's smiling mouth)."""
    from mmfer.datasets.transforms import AlignFace, get_face_template
    faces = hog(astronaut)
    res = AlignFace(template)(dict(img=astronaut, keypoints5=faces.keypoints5[0].copy()))
    dst, size = get_face_template(template)
    assert res['img'].shape == (size[1], size[0], 3)
    eye_err = np.linalg.norm(res['keypoints5'][:2] - dst[:2], axis=1)
    assert eye_err.max() < eye_tol, eye_err
    # the crop is the face: its centre is skin-coloured, not the grey background / suit
    h, w = res['img'].shape[:2]
    b, g, r = res['img'][h // 2 - 4:h // 2 + 4, w // 2 - 4:w // 2 + 4].reshape(-1, 3).mean(0)
    assert r > g > b and r > 120
