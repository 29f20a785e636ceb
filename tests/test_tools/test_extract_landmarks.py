# Copyright (c) mmfer contributors. All rights reserved.
"""tools/landmarks/extract_landmarks.py on synthetic faces (random HRNet weights, small input)."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmfer.datasets import load_landmarks

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'landmarks', 'extract_landmarks.py')


def _tool_module():
    spec = importlib.util.spec_from_file_location('extract_landmarks', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mmfer.datasets.synthetic import write_face_folder
    tmp = tmp_path_factory.mktemp('lm')
    info = write_face_folder(str(tmp / 'faces'), num=6, image_size=48, seed=0)
    tool = _tool_module()
    # the shipped 300W HRNetV2-W18 config with a 64x64 input (CPU-test sized)
    cfg = tmp / 'hrnet_300w_64.py'
    cfg.write_text(
        f"_base_ = [{tool.DEFAULT_CONFIG!r}]\n"
        "codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), "
        "sigma=1.5)\n"
        "model = dict(head=dict(decoder=codec))\n"
        "test_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImage'), "
        "dict(type='GetBBoxCenterScale'), dict(type='TopdownAffine', input_size=(64, 64)), "
        "dict(type='PackPoseInputs')]))\n")
    return dict(root=osp.join(info['root'], 'images'), truth=info['landmarks'], cfg=str(cfg),
                tmp=tmp, tool=tool)


def _run(args, check=True):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, TOOL] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f'rc={proc.returncode}\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc


def test_resumable_batched_extraction_matches_inference_topdown(setup):
    root, cfg, tmp, tool = setup['root'], setup['cfg'], setup['tmp'], setup['tool']
    out = str(tmp / 'lm.npz')
    common = [root, '--out', out, '--config', cfg, '--checkpoint', 'none',
              '--random-weights-for-testing', '--batch-size', '2', '--num-workers', '0']
    # 1) interrupted run: only 3 of 6 images
    proc = _run(common + ['--max-images', '3'])
    assert 'RANDOM' in proc.stderr and 'MEANINGLESS' in proc.stderr  # loud warning
    first = load_landmarks(out)
    assert sorted(first) == ['000000.jpg', '000001.jpg', '000002.jpg']
    # 2) refusing to overwrite without --resume
    with pytest.raises(FileExistsError, match='pass --resume'):
        tool.main(common)
    # 3) resume (in-process, same code path): the 3 remaining images only
    assert tool.main(common + ['--resume']) == 0
    table = load_landmarks(out)
    assert sorted(table) == [f'{i:06d}.jpg' for i in range(6)]
    for k, (kp, sc) in first.items():
        np.testing.assert_array_equal(table[k][0], kp)  # done images were not recomputed
    assert not [f for f in os.listdir(tmp) if '.part' in f]  # part files merged away
    for kp, sc in table.values():
        assert kp.shape == (68, 2) and sc.shape == (68, )
        # inside the 48x48 crop's box, which GetBBoxCenterScale pads by 1.25
        assert (kp >= -12).all() and (kp <= 60).all()

    # identical to mmpose's per-image inference_topdown with the same (random) model
    import cv2
    model = tool.build_topdown_model(cfg, 'none', 'cpu', random_weights_for_testing=True)
    inference = tool.import_mmpose_inference()
    from mmengine.registry import DefaultScope
    assert DefaultScope.get_current_instance().scope_name == 'mmfer'  # not left at mmpose
    for name in ('000001.jpg', '000004.jpg'):
        img = cv2.imread(osp.join(root, name))
        with tool.keep_default_scope():
            ref = inference.inference_topdown(model, img)[0].pred_instances
        np.testing.assert_allclose(table[name][0], ref.keypoints[0], atol=0.5)
        np.testing.assert_allclose(table[name][1], ref.keypoint_scores[0], rtol=1e-3,
                                   atol=1e-6)


def test_bad_arguments_and_inputs(setup, tmp_path):
    tool = setup['tool']
    with pytest.raises(ValueError, match='model zoo.*--random-weights-for-testing'):
        tool.build_topdown_model(setup['cfg'], 'none', 'cpu')
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        tool.build_topdown_model(setup['cfg'], 'nope.pth', 'cpu')
    bad = tmp_path / 'boxes.txt'
    bad.write_text('a.jpg 0 0 10 10\nb.jpg 0 0 10\n')
    with pytest.raises(ValueError, match=r'boxes\.txt:2: expected "relpath x1 y1 x2 y2"'):
        tool.read_bbox_file(str(bad))
    bad.write_text('a.jpg 5 5 5 10\n')
    with pytest.raises(ValueError, match=r'boxes\.txt:1: empty box'):
        tool.read_bbox_file(str(bad))


@pytest.mark.skipif(importlib.util.find_spec('dlib') is None
                    or _tool_module().dlib_model_path() is None,
                    reason='dlib backend needs `pip install dlib-bin face-recognition-models`')
def test_dlib_backend(setup, tmp_path):
    from mmfer.datasets.synthetic import write_face_folder
    info = write_face_folder(str(tmp_path / 'faces'), num=4, image_size=112, seed=1)
    root = osp.join(info['root'], 'images')
    out = str(tmp_path / 'dlib.npz')
    setup['tool'].main([root, '--out', out, '--backend', 'dlib', '--num-workers', '0'])
    table = load_landmarks(out)
    truth = load_landmarks(info['landmarks'])
    assert len(table) == 4
    errs = []
    for name, (kp, sc) in table.items():
        assert np.all(sc == 1.0)
        errs.append(np.linalg.norm(kp - truth['images/' + name][0], axis=1).mean())
    # a real predictor on real-looking geometry: far better than a constant guess
    centre = np.array([56.0, 56.0])
    base = np.mean([np.linalg.norm(truth['images/' + n][0] - centre, axis=1).mean()
                    for n in table])
    assert np.mean(errs) < 0.6 * base, (errs, base)


def test_recordio_input_keys_match_ms1m_dataset(setup, tmp_path):
    """A .rec DATA_ROOT gives 'train.rec#<key>' entries, which MS1MRecordIO then finds."""
    import cv2
    from mmfer.datasets.recordio import IRHeader, RecordIOWriter, pack, pack_img
    from mmfer.registry import DATASETS
    imgs = [cv2.imread(osp.join(setup['root'], f'{i:06d}.jpg')) for i in range(3)]
    rec = str(tmp_path / 'train.rec')
    with RecordIOWriter(rec, str(tmp_path / 'train.idx')) as w:
        w.write_idx(0, pack(IRHeader(2, [4, 5], 0, 0), b''))
        for k, img in enumerate(imgs, 1):
            w.write_idx(k, pack_img(IRHeader(0, 0.0, k, 0), img, img_fmt='.png'))
        w.write_idx(4, pack(IRHeader(2, [1, 4], 0, 0), b''))
    out = str(tmp_path / 'landmarks.npz')
    assert setup['tool'].main([rec, '--out', out, '--config', setup['cfg'], '--checkpoint',
                               'none', '--random-weights-for-testing', '--num-workers',
                               '0']) == 0
    table = load_landmarks(out)
    assert sorted(table) == ['train.rec#1', 'train.rec#2', 'train.rec#3']
    ds = DATASETS.build(dict(type='MS1MRecordIO', data_root=str(tmp_path),
                             landmark_file='landmarks.npz', missing_landmarks='error'))
    assert len(ds) == 3 and all(ds.get_data_info(i)['has_landmarks'] for i in range(3))
    np.testing.assert_array_equal(ds[1]['keypoints'][0], table['train.rec#2'][0])


@pytest.mark.slow
def test_torchrun_sharding(setup, tmp_path):
    """Two torchrun processes split the images and rank 0 merges: same result as one."""
    root, cfg, tool = setup['root'], setup['cfg'], setup['tool']
    common = ['--config', cfg, '--checkpoint', 'none', '--random-weights-for-testing',
              '--batch-size', '2', '--num-workers', '0']
    single = str(tmp_path / 'single.npz')
    assert tool.main([root, '--out', single] + common) == 0
    out = str(tmp_path / 'dist.npz')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={29600 + os.getpid() % 1000}', TOOL, root, '--out', out,
         '--launcher', 'pytorch'] + common,
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '[rank 0] 3 images' in proc.stdout and '[rank 1] 3 images' in proc.stdout
    a, b = load_landmarks(single), load_landmarks(out)
    assert sorted(a) == sorted(b) and len(b) == 6
    for k in a:
        np.testing.assert_allclose(b[k][0], a[k][0], atol=0.5)
    assert not [f for f in os.listdir(tmp_path) if '.part' in f]
