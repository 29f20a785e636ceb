# Copyright (c) mmfer contributors. All rights reserved.
"""FERInferencer: the model's own preprocessing, the task of each head, a real photo, videos
with tracking and smoothing (the demos as a user runs them: tests/test_tools/test_demos.py)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate

from mmfer.apis import (FERInferencer, IoUTracker, PredictionCSV, TrackSmoother,
                        face_preparation, load_fer_model, model_task, output_names)
from mmfer.datasets.synthetic import SyntheticFaceGenerator
from mmfer.datasets.transforms import get_face_template
from mmfer.evaluation import pool_features
from mmfer.evaluation.abaw5 import smooth_logits
from mmfer.registry import MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(REPO, 'configs/demo/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy.py')
SIMCLR = osp.join(REPO, 'tests/data/configs/tiny_simclr.py')
VA = osp.join(REPO, 'tests/data/configs/tiny_va_spatialflatten.py')
RAFDB_CLASSES = ['Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness', 'Anger', 'Neutral']
#: dlib HOG's astronaut face (tests/test_apis/test_face_detection.py checks the detector).
ASTRONAUT_FACE = (175, 76, 266, 167)


def _save(model, path, meta=None) -> str:
    torch.save({'meta': meta or {}, 'state_dict': model.state_dict()}, str(path))
    return str(path)


def _build(config, **options):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return cfg, model.eval()


@pytest.fixture(scope='module')
def toy_ckpt(tmp_path_factory):
    """The toy config's model with random weights (what matters is the preprocessing)."""
    _, model = _build(TOY)
    return _save(model, tmp_path_factory.mktemp('toy') / 'toy.pth')


@pytest.fixture(scope='module')
def astronaut() -> np.ndarray:
    skimage_data = pytest.importorskip('skimage.data')
    return np.ascontiguousarray(skimage_data.astronaut()[..., ::-1])  # RGB -> BGR


def test_embedding_equals_extract_feat_of_the_self_supervised_model(tmp_path):
    """An aligned face (no detector): the inferencer's embedding is the SSL model's
    pool(extract_feat) of the same tensor, through the model's own data preprocessor."""
    _, model = _build(SIMCLR)
    ckpt = _save(model, tmp_path / 'simclr.pth')
    face = SyntheticFaceGenerator(48, seed=0).render(identity=1, expression='happiness',
                                                     seed=2)['img']
    inferencer = FERInferencer(SIMCLR, ckpt, device='cpu', detector=None)
    assert inferencer.task == 'embedding' and inferencer.classes is None
    got = inferencer(face)['predictions'][0]['faces'][0]['embedding']
    packed = TRANSFORMS.build(dict(type='PackInputs'))(dict(img=face))
    with torch.no_grad():
        data = model.data_preprocessor(default_collate([packed]), False)
        ref = pool_features(model.extract_feat(data['inputs']))[0].numpy()
    assert got.shape == (64, ) and np.abs(got - ref).max() <= 1e-5
    # a random initialisation is not the checkpoint: the equality is not trivial
    other = FERInferencer(SIMCLR, None, device='cpu', detector=None)
    assert np.abs(other(face)['predictions'][0]['faces'][0]['embedding'] - ref).max() > 1e-3


def test_expression_scores_are_the_models_softmax_on_the_pipeline(tmp_path, toy_ckpt):
    cfg, model = _build(TOY)
    face = SyntheticFaceGenerator(64, seed=0).render(identity=3, seed=4)['img']
    inferencer = FERInferencer(TOY, toy_ckpt, device='cpu', detector=None, batch_size=2)
    assert inferencer.task == 'expression' and inferencer.classes == RAFDB_CLASSES
    preds = inferencer([face, face[:, ::-1].copy(), face])['predictions']
    assert len(preds) == 3 and all(len(p['faces']) == 1 for p in preds)
    steps = [TRANSFORMS.build(s) for s in cfg.test_pipeline[1:]]  # without LoadFaceImage
    sample = dict(img=face)
    for step in steps:
        sample = step(sample)
    with torch.no_grad():
        data = model.data_preprocessor(default_collate([sample]), False)
        logits = model(data['inputs'], mode='tensor')[0]
    got = preds[0]['faces'][0]
    np.testing.assert_allclose(got['logits'], logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(got['scores'], logits.softmax(0).numpy(), atol=1e-6)
    assert got['pred_class'] == RAFDB_CLASSES[int(logits.argmax())]
    np.testing.assert_allclose(preds[2]['faces'][0]['logits'], got['logits'], atol=1e-6)
    # class names from the checkpoint's dataset_meta win over the config's dataset
    named = _save(model, tmp_path / 'named.pth',
                  meta=dict(dataset_meta=dict(classes=[f'c{i}' for i in range(7)])))
    assert FERInferencer(TOY, named, device='cpu', detector=None).classes[0] == 'c0'


def test_real_photo_detected_aligned_and_classified(astronaut, toy_ckpt):
    pytest.importorskip('dlib', reason='the [dlib] extra is not installed')
    inferencer = FERInferencer(TOY, toy_ckpt, device='cpu', template='arcface_112')
    result = inferencer(astronaut, return_vis=True)
    pred = result['predictions'][0]
    assert pred['img_shape'] == (512, 512)
    # dlib at the inferencer's default threshold: the face only (not the suit)
    assert len(pred['faces']) == 1
    face = pred['faces'][0]
    np.testing.assert_allclose(face['bbox'], ASTRONAUT_FACE, atol=4)
    assert face['keypoints'].shape == (68, 2) and face['failure'] is None
    # the eyes land on the ArcFace template (measured 3.4 px; see README)
    points, _ = get_face_template('arcface_112')
    k5 = face['keypoints5']
    moved = k5 @ face['align_matrix'][:, :2].T + face['align_matrix'][:, 2]
    assert np.linalg.norm(moved[:2] - points[:2], axis=1).max() < 5
    assert face['scores'].shape == (7, ) and abs(face['scores'].sum() - 1) < 1e-5
    # the same crop given directly (no detector) gives the same prediction
    from mmfer.datasets.transforms import align_face
    crop, _ = align_face(astronaut, k5, 'arcface_112')
    direct = FERInferencer(TOY, toy_ckpt, device='cpu', detector=None)
    np.testing.assert_allclose(direct(crop)['predictions'][0]['faces'][0]['logits'],
                               face['logits'], atol=1e-5)
    vis = result['visualization'][0]
    assert vis.shape == (512, 512, 3)
    assert (vis != astronaut[..., ::-1]).any(axis=2)[76:167, 175:266].mean() > 0.02
    # the config's own template (the synthetic faces' geometry) is used without template=
    assert FERInferencer(TOY, toy_ckpt, device='cpu').face_prep['source'] == \
        "the config's face_template"


def test_mtcnn_detector_and_batched_images(astronaut, toy_ckpt):
    pytest.importorskip('facenet_pytorch', reason='facenet-pytorch (mtcnn) is not installed')
    inferencer = FERInferencer(TOY, toy_ckpt, device='cpu', detector='mtcnn',
                               template='arcface_112', batch_size=2)
    blank = np.full((64, 64, 3), 128, np.uint8)
    preds = inferencer([astronaut, blank, astronaut])['predictions']
    assert [len(p['faces']) for p in preds] == [1, 0, 1]
    face = preds[0]['faces'][0]
    assert face['keypoints'] is not None and face['keypoints'].shape == (5, 2)
    x1, y1, x2, y2 = face['bbox']
    assert abs(x1 - ASTRONAUT_FACE[0]) < 15 and abs(y2 - ASTRONAUT_FACE[3]) < 25
    np.testing.assert_allclose(preds[2]['faces'][0]['logits'], face['logits'], atol=1e-5)


def test_tasks_and_output_names(tmp_path):
    _, va_model = _build(VA)
    va = FERInferencer(VA, _save(va_model, tmp_path / 'va.pth'), device='cpu', detector=None,
                       pipeline=[dict(type='Resize', scale=(96, 96)), dict(type='PackInputs')])
    assert va.task == 'va' and va.classes == ['valence', 'arousal']
    face = va(np.full((80, 80, 3), 120, np.uint8))['predictions'][0]['faces'][0]
    assert -1 <= face['valence'] <= 1 and face['va'].shape == (2, )
    # AU and AffectNet-8 names come from the configs without building their datasets
    au = load_fer_model(
        'configs/abaw5/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2-au.py',
        None, cfg_options={'model.backbone.depth': 18, 'model.neck.in_channels': 512})
    assert model_task(au) == 'au'
    assert output_names(au)[:3] == ['AU1', 'AU2', 'AU4'] and len(output_names(au)) == 12
    affectnet = load_fer_model(
        'configs/sslfer/benchmarks/resnet18_1xb64-mlp-finetune-adam-coslr-20e_affectnet8.py')
    assert output_names(affectnet)[-1] == 'Contempt' and len(output_names(affectnet)) == 8
    with pytest.raises(ValueError, match="predicts 'va', not 'expression'"):
        load_fer_model(VA, None, task='expression')


def test_face_preparation_follows_the_config():
    def prep(path, **kw):
        return face_preparation(Config.fromfile(osp.join(REPO, path)), **kw)

    rafdb = prep('configs/contrawarp/benchmarks/resnet18_1xb64-coslr-40e_rafdb.py')
    assert (rafdb['mode'], rafdb['template']) == ('align', 'rafdb_100')
    assert [s['type'] for s in rafdb['pipeline']] == ['Resize', 'PackInputs']
    abaw = prep('configs/abaw5/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2-va.py')
    assert abaw['template'] == 'affwild2_112'
    fer = prep('configs/sslfer/benchmarks/resnet50_1xb64-mlp-finetune-adam-coslr-300e_fer2013.py')
    assert fer['gray'] and fer['output_size'] == 48
    # AffectNet crops the detector's box with the config's own CropFaceBox
    affectnet = prep('configs/sslfer/benchmarks/resnet50_1xb64-mlp-finetune-adam-coslr-20e_'
                     'affectnet8.py')
    assert affectnet['mode'] == 'pipeline' and affectnet['pipeline'][0]['type'] == 'CropFaceBox'
    # an explicit template wins, and drops the config's own face step
    forced = prep('configs/sslfer/benchmarks/resnet50_1xb64-mlp-finetune-adam-coslr-20e_'
                  'affectnet8.py', template='arcface_112')
    assert forced['mode'] == 'align' and 'CropFaceBox' not in str(forced['pipeline'])
    # a pre-training config (no test pipeline): its training crop size, ArcFace crops
    pre = prep('configs/contrawarp/contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py')
    assert pre['template'] == 'arcface_112'
    assert pre['pipeline'] == [dict(type='Resize', scale=(224, 224)), dict(type='PackInputs')]


def test_iou_tracker_links_and_ends_tracks():
    tracker = IoUTracker(iou_thr=0.3, max_age=1)
    a, b = [0, 0, 10, 10], [20, 0, 30, 10]
    assert tracker.update(0, np.array([a, b])) == [0, 1]
    assert tracker.update(1, np.array([[21, 0, 31, 10], [1, 0, 11, 10]])) == [1, 0]
    assert tracker.update(2, np.array([[1, 0, 11, 10]])) == [0]   # track 1 unseen once
    assert tracker.update(4, np.array([[21, 0, 31, 10]])) == [2]  # too old: a new track
    assert not tracker.alive(1, 4) and tracker.alive(2, 4)


def test_track_smoother_equals_offline_smoothing_of_each_track():
    rng = np.random.default_rng(0)
    tracker = IoUTracker(iou_thr=0.3, max_age=2)
    smoother = TrackSmoother('median', 5)
    boxes = {0: [0, 0, 10, 10], 1: [50, 0, 60, 10]}
    # person 1 pauses 1 frame (same track), then 3 frames (> max_age: a new track)
    present = {0: set(range(14)), 1: {1, 2, 3, 5, 6, 10, 11, 12}}
    raw, out, emitted = {}, {}, []
    for frame in range(14):
        faces = [dict(logits=rng.normal(size=3), who=w) for w in (0, 1) if frame in present[w]]
        ids = tracker.update(frame, np.array([boxes[f['who']] for f in faces]).reshape(-1, 4))
        for f, t in zip(faces, ids):
            f['track_id'] = t
            raw.setdefault(t, []).append(f['logits'])
        smoother.push(frame, faces, 'logits')
        ready = list(smoother.pop(tracker, frame))
        if frame in (2, 3):  # a frame waits for two later detections of each of its tracks
            assert [p for p, _ in ready] == [frame - 2]
        for payload, done in ready:
            emitted.append(payload)
            for f, v in done:
                out.setdefault(f['track_id'], []).append(v)
    for payload, done in smoother.pop(final=True):
        emitted.append(payload)
        for f, v in done:
            out.setdefault(f['track_id'], []).append(v)
    assert emitted == list(range(14))  # every frame once, in order
    assert sorted(raw) == [0, 1, 2] and len(raw[1]) == 5 and len(raw[2]) == 3
    for track in raw:
        np.testing.assert_allclose(np.stack(out[track]),
                                   smooth_logits(np.stack(raw[track]), 'median', 5))


def _write_video(path, frames, fps=10.0) -> str:
    h, w = frames[0]['img'].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (w, h))
    for f in frames:
        writer.write(f['img'])
    writer.release()
    return str(path)


def test_video_frames_tracked_and_smoothed(tmp_path, toy_ckpt):
    pytest.importorskip('dlib', reason='the [dlib] extra is not installed')
    frames = SyntheticFaceGenerator(112, seed=0).render_video(identity=2, num_frames=8, seed=3)
    video = _write_video(tmp_path / 'clip.avi', frames)
    kw = dict(device='cpu', detector=dict(type='dlib', score_thr=0.0), batch_size=3)
    raw = FERInferencer(TOY, toy_ckpt, **kw)
    res = raw(video)['predictions']
    assert [p['frame'] for p in res] == list(range(8))
    assert all(len(p['faces']) == 1 and p['faces'][0]['track_id'] == 0 for p in res)
    assert res[3]['time'] == pytest.approx(0.3)
    smooth = FERInferencer(TOY, toy_ckpt, smooth='mean', window=5, **kw)
    out = list(smooth.iter_video(video))
    assert [i for i, _, _ in out] == list(range(8))
    logits = np.stack([p['faces'][0]['logits'] for p in res])
    np.testing.assert_allclose(np.stack([p['faces'][0]['logits'] for _, _, p in out]),
                               smooth_logits(logits, 'mean', 5), atol=1e-5)
    np.testing.assert_allclose(np.stack([p['faces'][0]['raw_logits'] for _, _, p in out]),
                               logits, atol=1e-6)
    # one CSV row per face and frame, with the class columns
    path = tmp_path / 'rows.csv'
    with PredictionCSV(str(path), smooth) as table:
        for index, _, pred in out:
            table.write(pred, index)
    import csv
    rows = list(csv.DictReader(open(path)))
    assert [int(r['frame']) for r in rows] == list(range(8))
    assert set(RAFDB_CLASSES) <= set(rows[0]) and rows[0]['pred_class'] in RAFDB_CLASSES
    assert abs(sum(float(rows[0][c]) for c in RAFDB_CLASSES) - 1) < 1e-3


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='batch_size must be >= 1'):
        FERInferencer(TOY, None, device='cpu', batch_size=0, detector=None)
    with pytest.raises(ValueError, match='positive odd number'):
        FERInferencer(TOY, None, device='cpu', smooth='median', window=4, detector=None)
    with pytest.raises(FileNotFoundError, match='checkpoint nope.pth does not exist'):
        FERInferencer(TOY, 'nope.pth', device='cpu', detector=None)
    with pytest.raises(KeyError, match='unknown face template'):
        FERInferencer(TOY, None, device='cpu', template='nope')
    inferencer = FERInferencer(TOY, None, device='cpu', detector=None)
    with pytest.raises(FileNotFoundError, match='image missing.png does not exist'):
        inferencer('missing.png')
