# Copyright (c) mmfer contributors. All rights reserved.
"""The synthetic face generator: API, determinism, landmarks on drawn features, expressions."""
import numpy as np
import pytest
from scipy.stats import chi2_contingency

from mmfer.datasets.synthetic import (AU_NAMES, EXPRESSION_CLASSES, SyntheticFaceGenerator,
                                      expression_index)


def face_frame(kpts: np.ndarray) -> np.ndarray:
    """Landmarks in the face frame: eye midpoint at 0, eye line horizontal, iod = 1."""
    le, re = kpts[36:42].mean(0), kpts[42:48].mean(0)
    d = re - le
    iod = np.linalg.norm(d)
    c, s = d / iod
    rot = np.array([[c, s], [-s, c]])
    return (kpts - (le + re) / 2) @ rot.T / iod


def geometry(kpts: np.ndarray) -> dict:
    p = face_frame(kpts)
    return dict(
        corner_lift=(p[[51, 57], 1].mean() - p[[48, 54], 1].mean()),   # > 0: corners up
        mouth_open=p[66, 1] - p[62, 1],
        mouth_width=p[54, 0] - p[48, 0],
        brow_eye=(p[[36, 39, 42, 45], 1].mean() - p[17:27, 1].mean()),
        inner_brow=(p[[39, 42], 1].mean() - p[[21, 22], 1].mean()),
        eye_open=(p[[40, 41, 46, 47], 1].mean() - p[[37, 38, 43, 44], 1].mean()),
        asym=p[48, 1] - p[54, 1])                                      # > 0: right corner up


@pytest.fixture(scope='module')
def clean_gen():
    """No noise, no lighting, no pose jitter: exact colours and a fixed pose per person."""
    return SyntheticFaceGenerator(128, seed=3, noise_std=0, lighting=0, pose_jitter=0)


def test_render_api():
    gen = SyntheticFaceGenerator(image_size=64, seed=0)
    face = gen.render(identity=3, expression='happiness', intensity=1.0, seed=7)
    assert face['img'].shape == (64, 64, 3) and face['img'].dtype == np.uint8
    assert face['keypoints'].shape == (68, 2) and face['keypoints'].dtype == np.float32
    assert face['gt_label'] == EXPRESSION_CLASSES.index('happiness') == 1
    assert face['expression'] == 'happiness'
    assert face['aus'].shape == (len(AU_NAMES), ) and face['aus'].dtype == np.float32
    assert ((face['aus'] >= 0) & (face['aus'] <= 1)).all()
    assert face['aus'][AU_NAMES.index('AU12')] > 0.7           # lip corner puller
    assert 0.4 < face['valence'] <= 1.0 and 0.2 < face['arousal'] <= 1.0
    assert (face['identity'], face['video'], face['frame']) == (3, -1, -1)
    # the face is in the picture
    assert (face['keypoints'] > 0).all() and (face['keypoints'] < 64).all()
    assert len(EXPRESSION_CLASSES) == 8 and EXPRESSION_CLASSES[0] == 'neutral'
    assert gen.render(0, 5)['expression'] == 'disgust'


def test_bad_inputs_raise():
    gen = SyntheticFaceGenerator(32)
    with pytest.raises(ValueError, match='unknown expression .joy.*neutral'):
        gen.render(0, 'joy')
    with pytest.raises(ValueError, match='unknown expression'):
        expression_index(8)
    with pytest.raises(ValueError, match='intensity'):
        gen.render(0, 'anger', intensity=1.5)
    with pytest.raises(ValueError, match='aus must have shape'):
        gen.render(0, 'anger', aus=np.zeros(3))
    with pytest.raises(ValueError, match='identity must be >= 0'):
        gen.render(-1)
    with pytest.raises(ValueError, match='image_size'):
        SyntheticFaceGenerator(8)


def test_determinism():
    a = SyntheticFaceGenerator(48, seed=1).render(2, 'fear', 0.8, seed=11)
    b = SyntheticFaceGenerator(48, seed=1).render(2, 'fear', 0.8, seed=11)
    assert np.array_equal(a['img'], b['img'])
    assert np.array_equal(a['keypoints'], b['keypoints'])
    assert np.array_equal(a['aus'], b['aus']) and a['valence'] == b['valence']
    c = SyntheticFaceGenerator(48, seed=1).render(2, 'fear', 0.8, seed=12)
    assert not np.array_equal(a['img'], c['img'])
    # the generator's own stream (seed=None) is reproducible too
    g1, g2 = SyntheticFaceGenerator(48, seed=5), SyntheticFaceGenerator(48, seed=5)
    for _ in range(2):
        assert np.array_equal(g1.render(1)['img'], g2.render(1)['img'])
    # a person looks the same for the same generator seed and differs for another one
    p1 = SyntheticFaceGenerator(48, seed=1).identity_params(4)
    p2 = SyntheticFaceGenerator(48, seed=1).identity_params(4)
    p3 = SyntheticFaceGenerator(48, seed=2).identity_params(4)
    assert np.array_equal(p1.skin, p2.skin) and p1.eye_spacing == p2.eye_spacing
    assert not np.array_equal(p1.skin, p3.skin)


def _px(img, xy):
    x, y = np.round(xy).astype(int)
    return img[y, x].astype(np.float64)


@pytest.mark.parametrize('identity', [0, 1, 2, 5])
def test_landmarks_lie_on_drawn_features(clean_gen, identity):
    idp = clean_gen.identity_params(identity)
    face = clean_gen.render(identity, 'neutral', seed=0)
    img, k = face['img'], face['keypoints'].astype(np.float64)
    skin = idp.skin
    # eye centres: sclera/iris/pupil, not skin
    for eye in (slice(36, 42), slice(42, 48)):
        assert np.abs(_px(img, k[eye].mean(0)) - skin).max() > 40
    # brow landmarks are painted in the brow colour (hair colour, darkened)
    brow = idp.hair * 0.75
    brow_px = np.stack([_px(img, p) for p in k[17:27]])
    assert np.abs(brow_px - brow).mean() < 12
    # lips: between the outer and inner lip landmarks is lip colour, nearer lips than skin
    for outer, inner in ((50, 61), (52, 63), (58, 67), (56, 65)):
        c = _px(img, (k[outer] + k[inner]) / 2)
        assert np.linalg.norm(c - idp.lips) < np.linalg.norm(c - skin)
    # the nostril curve 31-35 is drawn darker than the skin
    assert _px(img, k[33]).sum() < 0.85 * skin.sum()
    # jaw: the contour is drawn (darker than skin) and skin lies just inside it
    centre = k[27:36].mean(0)
    for i in (3, 5, 8, 11, 13):
        inward = k[i] + 4 * (centre - k[i]) / np.linalg.norm(centre - k[i])
        assert np.abs(_px(img, inward) - skin).max() < 20, i
        assert _px(img, k[i]).sum() < _px(img, inward).sum() - 10, i


def test_expressions_differ_in_geometry(clean_gen):
    ids = range(6)
    g = {e: [geometry(clean_gen.render(i, e, 1.0, seed=i)['keypoints']) for i in ids]
         for e in EXPRESSION_CLASSES}
    for i in range(len(ids)):
        G = {e: g[e][i] for e in EXPRESSION_CLASSES}
        # lip corners: up for happiness, down for sadness
        assert G['happiness']['corner_lift'] > G['neutral']['corner_lift'] + 0.08
        assert G['sadness']['corner_lift'] < G['neutral']['corner_lift'] - 0.08
        # mouth open for surprise and fear, closed for neutral and anger
        assert G['surprise']['mouth_open'] > 0.3
        assert G['fear']['mouth_open'] > 0.1
        assert G['neutral']['mouth_open'] < 0.03 and G['anger']['mouth_open'] < 0.03
        # brows: raised for surprise, lowered for anger; inner brows raised for sadness
        assert G['surprise']['brow_eye'] > G['neutral']['brow_eye'] + 0.1
        assert G['anger']['brow_eye'] < G['neutral']['brow_eye'] - 0.05
        assert G['sadness']['inner_brow'] > G['anger']['inner_brow'] + 0.1
        # eyes: wide for surprise, narrowed for anger
        assert G['surprise']['eye_open'] > 1.3 * G['neutral']['eye_open']
        assert G['anger']['eye_open'] < 0.8 * G['neutral']['eye_open']
        # lips pressed/narrowed for anger, stretched for fear; contempt is one-sided
        assert G['anger']['mouth_width'] < G['neutral']['mouth_width'] - 0.05
        assert G['fear']['mouth_width'] > G['neutral']['mouth_width'] + 0.05
        assert G['contempt']['asym'] > 0.08 > abs(G['neutral']['asym'])
    # expressions are visibly different: images of one person differ between classes
    # (contempt, one lip corner and a dimple, is the subtlest: ~70-170 px at 128 px)
    for i in (0, 4):
        imgs = {e: clean_gen.render(i, e, 1.0, seed=i)['img'].astype(np.float64)
                for e in EXPRESSION_CLASSES}
        for e in EXPRESSION_CLASSES[1:]:
            diff = np.abs(imgs[e] - imgs['neutral']).max(-1)
            assert (diff > 15).sum() > (50 if e == 'contempt' else 200), (i, e)


def test_identity_independent_of_expression(clean_gen):
    # identity factors do not move with the expression: same hair, background and skin
    base = clean_gen.render(4, 'neutral', seed=9)
    for e in EXPRESSION_CLASSES[1:]:
        other = clean_gen.render(4, e, seed=9)
        assert np.array_equal(other['img'][:12], base['img'][:12])      # hair/background
        fixed = [0, 1, 15, 16, 27]                                      # temples, nose top
        assert np.abs(other['keypoints'][fixed] - base['keypoints'][fixed]).max() < 0.05
    # and the sampled identity/label pairs are independent uniform draws
    ids, labels, intens, _ = SyntheticFaceGenerator.draw_samples(16000, seed=0,
                                                                 num_identities=20)
    table = np.zeros((20, 8))
    np.add.at(table, (ids, labels), 1)
    assert chi2_contingency(table)[1] > 1e-3
    assert np.abs(np.bincount(labels, minlength=8) / 16000 - 1 / 8).max() < 0.015
    assert ((intens >= 0.6) & (intens <= 1.0)).all()


def test_sample_stream():
    gen = SyntheticFaceGenerator(32, seed=0)
    faces = list(gen.sample(6, seed=4, num_identities=3, identity_offset=10,
                            expressions=['anger', 'sadness']))
    ids, labels, _, _ = gen.draw_samples(6, seed=4, num_identities=3, identity_offset=10,
                                         expressions=['anger', 'sadness'])
    assert [f['identity'] for f in faces] == ids.tolist()
    assert [f['gt_label'] for f in faces] == labels.tolist()
    assert set(labels.tolist()) <= {6, 2} and set(ids.tolist()) <= {10, 11, 12}
    again = list(gen.sample(6, seed=4, num_identities=3, identity_offset=10,
                            expressions=['anger', 'sadness']))
    assert all(np.array_equal(a['img'], b['img']) for a, b in zip(faces, again))


def test_video_is_smooth_and_labelled():
    gen = SyntheticFaceGenerator(64, seed=0)
    frames = gen.render_video(identity=3, num_frames=90, seed=1, segment_frames=(15, 25))
    assert len(frames) == 90
    assert [f['frame'] for f in frames] == list(range(90))
    assert {f['video'] for f in frames} == {1} and {f['identity'] for f in frames} == {3}
    aus = np.stack([f['aus'] for f in frames])
    kp = np.stack([f['keypoints'] for f in frames])
    va = np.array([[f['valence'], f['arousal']] for f in frames])
    labels = [f['gt_label'] for f in frames]
    # the expression changes over the clip, but smoothly
    assert len(set(labels)) >= 3
    assert aus.max(0).max() - aus.min(0).min() > 0.5
    assert np.abs(np.diff(aus, axis=0)).max() < 0.2
    assert np.abs(np.diff(va, axis=0)).max() < 0.25
    step = np.linalg.norm(np.diff(kp, axis=0), axis=-1)
    assert step.max() < 2.5 and np.ptp(kp[:, 62, 1]) > step.max()
    # labels change only a few times (at transitions), never flicker
    changes = sum(a != b for a, b in zip(labels, labels[1:]))
    assert changes <= 90 // 15
    assert SyntheticFaceGenerator(64, seed=0).render_video(3, 5, seed=1)[4]['aus'].tolist() == \
        gen.render_video(3, 5, seed=1)[4]['aus'].tolist()
    with pytest.raises(ValueError, match='num_frames'):
        gen.render_video(0, 0)


def test_video_plan_and_render_frame_match_render_video():
    """A single frame rendered from the plan is the clip's frame, pixel for pixel."""
    gen = SyntheticFaceGenerator(40, seed=2)
    clip = gen.render_video(identity=4, num_frames=30, seed=9, video=5,
                            expressions=['happiness', 'anger'], segment_frames=(4, 8))
    plan = gen.video_plan(4, num_frames=30, seed=9, expressions=['happiness', 'anger'],
                          segment_frames=(4, 8))
    assert len(plan) == 30
    other = SyntheticFaceGenerator(40, seed=2)          # a fresh generator, other order
    for i in (29, 0, 13):
        fr = other.render_frame(4, plan[i], seed=9, frame=i, video=5)
        ref = clip[i]
        assert np.array_equal(fr['img'], ref['img'])
        assert np.array_equal(fr['keypoints'], ref['keypoints'])
        np.testing.assert_array_equal(other.frame_keypoints(4, plan[i]), ref['keypoints'])
        assert (fr['gt_label'], fr['video'], fr['frame']) == (ref['gt_label'], 5, i)
        assert fr['valence'] == ref['valence'] and fr['intensity'] == ref['intensity']
    assert other.render_frame(4, plan[3], seed=9, frame=3)['video'] == 9   # defaults to seed


def test_identity_cache_size_bounds_memory_not_pixels():
    full = SyntheticFaceGenerator(32, seed=1)
    small = SyntheticFaceGenerator(32, seed=1, identity_cache_size=2)
    for ident in (0, 1, 2, 3, 0, 2):
        a = full.render(ident, 'fear', seed=ident)
        b = small.render(ident, 'fear', seed=ident)
        assert np.array_equal(a['img'], b['img'])
    assert len(small._ids) == 2 and len(full._ids) == 4
    with pytest.raises(ValueError, match='identity_cache_size'):
        SyntheticFaceGenerator(32, identity_cache_size=0)
