# Copyright (c) mmfer contributors. All rights reserved.
"""tools/landmarks/extract_landmarks.py as a user runs it (the library is tested in
tests/test_apis/): random HRNet weights, 64 px input, synthetic aligned 48 px faces."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmfer.datasets import load_landmarks

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = 'tools/landmarks/extract_landmarks.py'


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mmfer.apis import MMPOSE_300W_CONFIG
    from mmfer.datasets.synthetic import write_face_folder
    tmp = tmp_path_factory.mktemp('lm')
    info = write_face_folder(str(tmp / 'faces'), num=6, image_size=48, seed=0)
    cfg = tmp / 'hrnet_300w_64.py'
    cfg.write_text(
        f"_base_ = [{MMPOSE_300W_CONFIG!r}]\n"
        "codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), "
        "sigma=1.5)\n"
        "model = dict(head=dict(decoder=codec))\n"
        "test_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImage'), "
        "dict(type='GetBBoxCenterScale'), dict(type='TopdownAffine', input_size=(64, 64)), "
        "dict(type='PackPoseInputs')]))\n")
    # random weights put many points outside the 48 px crops: keep them (score 0)
    common = ['--config', str(cfg), '--checkpoint', 'none', '--random-weights-for-testing',
              '--batch-size', '2', '--num-workers', '0', '--max-outside-fraction', '1']
    return dict(root=osp.join(info['root'], 'images'), tmp=tmp, common=common)


def _run(args):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    return subprocess.run([sys.executable, TOOL] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_interrupted_run_resumes(setup):
    root, tmp = setup['root'], setup['tmp']
    out = str(tmp / 'lm.npz')
    # 1) interrupted run: only 3 of 6 images
    proc = _run([root, '--aligned', '--out', out, '--max-images', '3', '--flip-test', 'off']
                + setup['common'])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'mmpose HRNet: flip test off, fp32' in proc.stdout
    assert 'RANDOM' in proc.stderr and 'MEANINGLESS' in proc.stderr  # loud warning
    assert 'lie outside the image: written with score 0' in proc.stdout
    first = load_landmarks(out)
    assert sorted(first) == ['000000.jpg', '000001.jpg', '000002.jpg']
    # 2) resume: the 3 remaining images only
    proc = _run([root, '--aligned', '--out', out, '--resume'] + setup['common'])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'mmpose HRNet: flip test on, fp32' in proc.stdout  # the 300W config's default
    assert '6 images, 3 already done, 3 to do' in proc.stdout
    table = load_landmarks(out)
    assert sorted(table) == [f'{i:06d}.jpg' for i in range(6)]
    for k, (kp, sc) in first.items():
        np.testing.assert_array_equal(table[k][0], kp)  # done images were not recomputed
    assert not [f for f in os.listdir(tmp) if '.part' in f]  # part files merged away
    for kp, sc in table.values():
        outside = (kp < -0.5).any(1) | (kp > 47.5).any(1)
        assert (sc[outside] == 0).all()  # never written with confidence


@pytest.mark.slow
def test_cli_refusals(setup):
    """No face boxes, or an existing --out without --resume: refused before any model work
    (~30 s: two interpreter start-ups; the library checks are in tests/test_apis/)."""
    root, tmp = setup['root'], setup['tmp']
    proc = _run([root, '--out', str(tmp / 'other.npz')] + setup['common'])
    assert proc.returncode == 1 and 'no face boxes: pass --bbox-file' in proc.stderr
    assert not osp.exists(tmp / 'other.npz')
    (tmp / 'exists.npz').write_bytes(b'')
    proc = _run([root, '--aligned', '--out', str(tmp / 'exists.npz')] + setup['common'])
    assert proc.returncode == 1 and 'pass --resume' in proc.stderr
    assert 'RANDOM' not in proc.stderr  # refused before the model was built


@pytest.mark.slow
def test_torchrun_sharding(setup, tmp_path):
    """Two torchrun processes split the images and rank 0 merges: same result as one
    (~60 s: three interpreter start-ups with torch + mmpose on the 2-core machine)."""
    root, common = setup['root'], setup['common'] + ['--aligned']
    single = str(tmp_path / 'single.npz')
    proc = _run([root, '--out', single] + common)
    assert proc.returncode == 0, proc.stderr[-3000:]
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
