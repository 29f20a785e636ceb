# Copyright (c) mmfer contributors. All rights reserved.
"""FaceLandmarkInferencer: batched mmpose HRNet (random weights, 64 px input) and dlib."""
import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmfer.apis import (MMPOSE_300W_CONFIG, BoxFile, FaceLandmarkInferencer, FirstBox,
                        LandmarkFileWriter, WholeImageBox, dlib_model_path, flag_landmarks,
                        import_mmpose_inference, keep_default_scope, list_face_images)
from mmfer.datasets import load_landmarks

HAS_DLIB = importlib.util.find_spec('dlib') is not None and dlib_model_path() is not None
needs_dlib = pytest.mark.skipif(not HAS_DLIB, reason='dlib backend needs `pip install '
                                'dlib-bin face-recognition-models`')


def write_hrnet_64(path) -> str:
    """The shipped 300W HRNetV2-W18 config with a 64x64 input (CPU-test sized)."""
    path.write_text(
        f"_base_ = [{MMPOSE_300W_CONFIG!r}]\n"
        "codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), "
        "sigma=1.5)\n"
        "model = dict(head=dict(decoder=codec))\n"
        "test_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImage'), "
        "dict(type='GetBBoxCenterScale'), dict(type='TopdownAffine', input_size=(64, 64)), "
        "dict(type='PackPoseInputs')]))\n")
    return str(path)


@pytest.fixture(scope='module')
def hrnet(tmp_path_factory):
    from mmfer.datasets.synthetic import write_face_folder
    tmp = tmp_path_factory.mktemp('lm')
    info = write_face_folder(str(tmp / 'faces'), num=6, image_size=48, seed=0)
    cfg = write_hrnet_64(tmp / 'hrnet_300w_64.py')
    inferencer = FaceLandmarkInferencer(cfg, None, box_source=WholeImageBox(),
                                        max_outside_fraction=1.0,
                                        random_weights_for_testing=True)
    return dict(root=osp.join(info['root'], 'images'), cfg=cfg, tmp=tmp,
                inferencer=inferencer)


def test_batched_landmarks_match_inference_topdown_and_outside_points_get_score_0(hrnet):
    inputs, keys = list_face_images(hrnet['root'])
    assert keys == [f'{i:06d}.jpg' for i in range(6)]
    inferencer = hrnet['inferencer']
    results = inferencer(inputs, batch_size=4, keys=keys)['predictions']
    assert [r['key'] for r in results] == keys
    inference = import_mmpose_inference()
    from mmengine.registry import DefaultScope
    assert DefaultScope.get_current_instance().scope_name == 'mmfer'  # not left at mmpose
    model = inferencer.model.source_model  # the unfused model, mmpose's per-image path
    flagged = 0
    for path, r in zip(inputs, results):
        assert r['failure'] is None and r['keypoints'].shape == (68, 2)
        with keep_default_scope():
            ref = inference.inference_topdown(model, cv2.imread(path))[0].pred_instances
        np.testing.assert_allclose(r['keypoints'], ref.keypoints[0], atol=0.5)
        kp = r['keypoints']
        outside = (kp < -0.5).any(1) | (kp > 47.5).any(1)
        assert r['num_outside'] == outside.sum()
        flagged += outside.sum()
        # inside the image: mmpose's score; outside: flagged with score 0, never 1.0
        np.testing.assert_allclose(r['keypoint_scores'][~outside],
                                   ref.keypoint_scores[0][~outside], rtol=1e-3, atol=1e-6)
        assert (r['keypoint_scores'][outside] == 0).all()
    assert flagged > 0  # random weights put many points outside the 48 px crops


def test_too_many_points_outside_is_a_failure_not_a_file_entry(hrnet):
    strict = FaceLandmarkInferencer(hrnet['cfg'], None, box_source=WholeImageBox(),
                                    random_weights_for_testing=True)  # default 0.5
    inputs, keys = list_face_images(hrnet['root'])
    lenient = {r['key']: r for r in hrnet['inferencer'](inputs, keys=keys)['predictions']}
    results = strict(inputs, batch_size=3, keys=keys)['predictions']
    failed = 0
    for r in results:
        n_out = lenient[r['key']]['num_outside']
        if n_out > 34:
            failed += 1
            assert r['failure'] == 'landmarks outside the image' and r['keypoints'] is None
            assert f'{n_out} of 68 landmarks outside the 48x48 image' in r['message']
        else:
            assert r['failure'] is None
    assert failed > 0


def test_unusable_images_and_boxes_are_failures(hrnet, tmp_path):
    """No box (uncropped photo), a 1x1 image, a box off the image, a corrupt file: no
    landmarks and a reason (the old tool wrote (0, 0) or out-of-image points with score 1)."""
    photo = np.full((160, 160, 3), 90, np.uint8)
    photo[100:148, 100:148] = cv2.imread(osp.join(hrnet['root'], '000000.jpg'))
    cv2.imwrite(str(tmp_path / 'photo.jpg'), photo)
    cv2.imwrite(str(tmp_path / 'tiny.png'), np.zeros((1, 1, 3), np.uint8))
    (tmp_path / 'broken.jpg').write_bytes(b'not a jpeg')
    boxes = tmp_path / 'boxes.txt'
    boxes.write_text('photo.jpg 100 100 148 148\noff.jpg 500 500 600 600\n')
    cv2.imwrite(str(tmp_path / 'off.jpg'), photo)
    # a box file only (no --aligned): the whole image is never guessed
    inferencer = FaceLandmarkInferencer(hrnet['cfg'], None, box_source=BoxFile(str(boxes)),
                                        max_outside_fraction=1.0,
                                        random_weights_for_testing=True)
    names = ['photo.jpg', 'tiny.png', 'off.jpg', 'broken.jpg', 'nobox.jpg']
    cv2.imwrite(str(tmp_path / 'nobox.jpg'), photo)
    res = inferencer([str(tmp_path / n) for n in names], batch_size=5,
                     keys=names)['predictions']
    by = {r['key']: r for r in res}
    assert by['photo.jpg']['failure'] is None
    kp = by['photo.jpg']['keypoints']
    assert (kp > 100 - 12).all() and (kp < 148 + 12).all()  # around the given box
    assert by['tiny.png']['failure'] == 'image too small'
    assert by['off.jpg']['failure'] == 'degenerate face box'
    assert by['broken.jpg']['failure'] == 'unreadable image'
    assert 'broken.jpg is corrupt or not an image' in by['broken.jpg']['message']
    assert by['nobox.jpg']['failure'] == 'no face box'
    assert all(by[n]['keypoints'] is None for n in names[1:])


def test_flag_landmarks_rules():
    kp = np.array([[0, 0], [-0.5, 9.5], [-0.6, 3], [5, 10.2], [3, 3]], np.float32)
    scores, n, failure = flag_landmarks(kp, np.ones(5, np.float32), (10, 8), 0.5)
    np.testing.assert_array_equal(scores, [1, 1, 0, 0, 1])
    assert n == 2 and failure is None
    assert flag_landmarks(kp, np.ones(5), (10, 8), 0.3)[2] == 'landmarks outside the image'
    kp[0, 0] = np.nan
    assert flag_landmarks(kp, np.ones(5), (10, 8))[2] == 'non-finite landmarks'


def test_box_sources_and_argument_errors(hrnet, tmp_path):
    with pytest.raises(ValueError, match='needs box_source'):
        FaceLandmarkInferencer(hrnet['cfg'], None, random_weights_for_testing=True)
    with pytest.raises(ValueError, match='model zoo.*--random-weights-for-testing'):
        FaceLandmarkInferencer(hrnet['cfg'], None, box_source=WholeImageBox())
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        FaceLandmarkInferencer(hrnet['cfg'], 'nope.pth', box_source=WholeImageBox())
    with pytest.raises(ValueError, match="backend must be 'mmpose' or 'dlib'"):
        FaceLandmarkInferencer(backend='hrnet', box_source=WholeImageBox())
    boxes = tmp_path / 'b.txt'
    boxes.write_text('a.jpg 1 2 30 40\n')
    src = FirstBox([BoxFile(str(boxes)), WholeImageBox()])
    img = np.zeros((50, 60, 3), np.uint8)
    np.testing.assert_array_equal(src('a.jpg', img), [1, 2, 30, 40])
    np.testing.assert_array_equal(src('b.jpg', img), [0, 0, 60, 50])


def test_datasamples_and_visualization(hrnet):
    inputs, keys = list_face_images(hrnet['root'])
    out = hrnet['inferencer'](inputs[:2], keys=keys[:2], return_datasamples=True,
                              return_vis=True)
    sample = out['predictions'][0]
    assert sample.pred_instances.keypoints.shape == (1, 68, 2)
    assert sample.metainfo['failure'] is None
    vis = out['visualization'][0]
    img = cv2.imread(inputs[0])[..., ::-1]
    assert vis.shape == img.shape and (vis != img).any()


def test_recordio_input_keys_match_ms1m_dataset(hrnet, tmp_path):
    """A .rec data root gives 'train.rec#<key>' entries, which MS1MRecordIO then finds."""
    from mmfer.datasets.recordio import IRHeader, RecordIOWriter, pack, pack_img
    from mmfer.registry import DATASETS
    imgs = [cv2.imread(osp.join(hrnet['root'], f'{i:06d}.jpg')) for i in range(3)]
    rec = str(tmp_path / 'train.rec')
    with RecordIOWriter(rec, str(tmp_path / 'train.idx')) as w:
        w.write_idx(0, pack(IRHeader(2, [4, 5], 0, 0), b''))
        for k, img in enumerate(imgs, 1):
            w.write_idx(k, pack_img(IRHeader(0, 0.0, k, 0), img, img_fmt='.png'))
        w.write_idx(4, pack(IRHeader(2, [1, 4], 0, 0), b''))
    inputs, keys = list_face_images(rec)
    assert keys == ['train.rec#1', 'train.rec#2', 'train.rec#3']
    out = str(tmp_path / 'landmarks.npz')
    writer = LandmarkFileWriter(out)
    for r in hrnet['inferencer'](inputs, batch_size=2, keys=keys)['predictions']:
        np.testing.assert_array_equal(  # PNG records: the same pixels as the files
            r['keypoints'], hrnet['inferencer']([imgs[int(r['key'][-1]) - 1]])[
                'predictions'][0]['keypoints'])
        writer.add(r['key'], r['keypoints'], r['keypoint_scores'])
    writer.flush()
    table = writer.merge(order=keys)
    assert sorted(load_landmarks(out)) == keys and len(table) == 3
    ds = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path),
                             landmark_file='landmarks.npz', missing_landmarks='error'))
    assert len(ds) == 3 and all(ds.get_data_info(i)['has_landmarks'] for i in range(3))
    np.testing.assert_array_equal(ds[1]['keypoints'][0], table['train.rec#2'][0])


@needs_dlib
def test_dlib_backend_accuracy_and_outside_flags(tmp_path):
    from mmfer.datasets.synthetic import write_face_folder
    info = write_face_folder(str(tmp_path / 'faces'), num=4, image_size=112, seed=1)
    inputs, keys = list_face_images(osp.join(info['root'], 'images'))
    inferencer = FaceLandmarkInferencer(backend='dlib', box_source=WholeImageBox())
    results = inferencer(inputs, keys=keys, num_workers=0)['predictions']
    truth = load_landmarks(info['landmarks'])
    errs = []
    for r in results:
        assert r['failure'] is None
        inside = ~((r['keypoints'] < -0.5) | (r['keypoints'] > 111.5)).any(1)
        np.testing.assert_array_equal(r['keypoint_scores'], inside.astype(np.float32))
        errs.append(np.linalg.norm(r['keypoints'] - truth['images/' + r['key']][0],
                                   axis=1).mean())
    # a real predictor on real-looking geometry: far better than a constant guess
    centre = np.array([56.0, 56.0])
    base = np.mean([np.linalg.norm(truth['images/' + k][0] - centre, axis=1).mean()
                    for k in keys])
    assert np.mean(errs) < 0.6 * base, (errs, base)

    # a face box hanging off the image: dlib still predicts inside the box, so points land
    # outside the image; they get score 0 (the old tool wrote them all with score 1.0)
    img = cv2.imread(inputs[0])[20:, 20:]  # the face's top-left border is cut away
    shifted = FaceLandmarkInferencer(backend='dlib', box_source=lambda k, im: np.array(
        [-20, -20, 92, 92], np.float32))
    r = shifted([img])['predictions'][0]
    assert r['failure'] is None and r['num_outside'] > 0
    kp = r['keypoints']
    outside = (kp < -0.5).any(1) | (kp > 91.5).any(1)
    assert outside.sum() == r['num_outside']
    assert (r['keypoint_scores'][outside] == 0).all()
    assert (r['keypoint_scores'][~outside] == 1).all()


def test_batched_decoding_equals_mmpose_decode():
    from mmpose.codecs import MSRAHeatmap

    from mmfer.apis.landmark_backends import decode_msra_heatmaps
    codec = MSRAHeatmap(input_size=(64, 48), heatmap_size=(16, 12), sigma=2)
    rng = np.random.default_rng(0)
    heatmaps = rng.normal(size=(6, 68, 12, 16)).astype(np.float32)
    heatmaps[0] = -np.abs(heatmaps[0])  # no positive maximum: location -1
    heatmaps[1, :, :, :] = 0
    for k, (y, x) in enumerate([(0, 0), (0, 1), (1, 2), (11, 15), (10, 14), (5, 0), (0, 7)]):
        heatmaps[2, k] = 0  # maxima on and next to the borders (mmpose's refine bounds)
        heatmaps[2, k, y, x] = 1
        heatmaps[2, k, min(y + 1, 11), x] = 0.5
        heatmaps[2, k, y, min(x + 1, 15)] = 0.25
    heatmaps[3, :, 4, 4] = heatmaps[3].max() + 1  # equal neighbours: no shift
    kpts, scores = decode_msra_heatmaps(heatmaps, codec.scale_factor)
    assert kpts.dtype == np.float32 and kpts.shape == (6, 68, 2) and scores.shape == (6, 68)
    for b in range(6):
        ref_k, ref_s = codec.decode(heatmaps[b])
        np.testing.assert_array_equal(kpts[b], ref_k[0])
        np.testing.assert_array_equal(scores[b], ref_s[0])


@pytest.mark.parametrize('flip_test', [True, False])
def test_predictor_equals_mmpose_predict_and_options(hrnet, flip_test):
    """fp32: exactly mmpose's predict of the same (fused) network; bf16 runs and differs
    only through the network's precision; the source model is never modified."""
    from mmengine.dataset import pseudo_collate

    from mmfer.apis import TopdownBatchPredictor
    source = hrnet['inferencer'].model.source_model
    before = dict(source.test_cfg)
    pred = TopdownBatchPredictor(source, flip_test=flip_test)
    assert pred.flip_test is flip_test and source.test_cfg == before
    inputs, _ = list_face_images(hrnet['root'])
    data = [pred.prepare(cv2.imread(p), np.array([0, 0, 48, 48])) for p in inputs]
    kpts, scores = pred.predict(data)
    with keep_default_scope():
        batch = pred.model.data_preprocessor(pseudo_collate(data), False)
        ref = pred.model.predict(batch['inputs'].contiguous(memory_format=torch.channels_last),
                                 batch['data_samples'])
    np.testing.assert_array_equal(kpts, np.stack([r.pred_instances.keypoints[0] for r in ref]))
    np.testing.assert_array_equal(
        scores, np.stack([r.pred_instances.keypoint_scores[0] for r in ref]))
    bf16 = TopdownBatchPredictor(source, flip_test=flip_test, precision='bf16')
    k16, s16 = bf16.predict(data)
    assert k16.shape == kpts.shape and np.isfinite(k16).all()
    with pytest.raises(ValueError, match='precision must be one of'):
        TopdownBatchPredictor(source, precision='int8')
    with pytest.raises(ValueError, match='no precision or flip_test option'):
        FaceLandmarkInferencer(backend='dlib', box_source=WholeImageBox(), precision='bf16')
