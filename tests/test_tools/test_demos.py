# Copyright (c) mmfer contributors. All rights reserved.
"""demo/image_demo.py and demo/video_demo.py as a user runs them (the library:
tests/test_apis/test_fer_inferencer.py)."""
import csv
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmfer.datasets.synthetic import SyntheticFaceGenerator
from mmfer.registry import MODELS

pytest.importorskip('dlib', reason='the demos detect faces with the [dlib] extra')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = 'configs/demo/resnet18_1xb32-adamw-coslr-600it_rafdb-synthetic64_toy.py'
RAFDB_CLASSES = ['Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness', 'Anger', 'Neutral']


@pytest.fixture(scope='module')
def toy_ckpt(tmp_path_factory) -> str:
    """The toy config's model, random weights (the demos' plumbing is under test)."""
    cfg = Config.fromfile(osp.join(REPO, TOY))
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('toy') / 'toy.pth')
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return path


def _run(args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_image_demo_on_a_real_photo(tmp_path, toy_ckpt):
    skimage_data = pytest.importorskip('skimage.data')
    img = str(tmp_path / 'astronaut.png')
    cv2.imwrite(img, skimage_data.astronaut()[..., ::-1])
    out, table = str(tmp_path / 'out' / 'pred.png'), str(tmp_path / 'pred.csv')
    proc = _run(['demo/image_demo.py', img, TOY, toy_ckpt, '--out', out, '--csv', table,
                 '--device', 'cpu', '--show'])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    drawn = cv2.imread(out)
    assert drawn.shape == (512, 512, 3)
    assert (drawn != cv2.imread(img)).any(axis=2).mean() > 0.005  # box, points, text
    lines = proc.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith('1 face(s) in '))
    assert lines[first].startswith(f'1 face(s) in {img} (512x512); task: expression')
    assert lines[first + 1].startswith('  face 0: box (175, 76, 266, 167), detector score '
                                       '1.16: ')
    assert lines[-2:] == [f'picture: {out}', f'CSV: {table}']
    rows = list(csv.DictReader(open(table)))
    assert len(rows) == 1 and rows[0]['source'] == img and rows[0]['failure'] == ''
    assert abs(sum(float(rows[0][c]) for c in RAFDB_CLASSES) - 1) < 1e-3
    assert rows[0]['pred_class'] in RAFDB_CLASSES
    if not os.environ.get('DISPLAY'):
        assert '--show: no display here' in proc.stdout


def test_video_demo_writes_a_video_and_one_row_per_frame(tmp_path, toy_ckpt):
    frames = SyntheticFaceGenerator(112, seed=0).render_video(identity=2, num_frames=6, seed=3)
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (112, 112))
    for f in frames:
        writer.write(f['img'])
    writer.release()
    out, table = str(tmp_path / 'pred.avi'), str(tmp_path / 'pred.csv')
    proc = _run(['demo/video_demo.py', video, TOY, toy_ckpt, '--out', out, '--csv', table,
                 '--smooth', 'median', '--window', '3', '--det-thr', '0', '--device', 'cpu',
                 '--batch-size', '4'])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    cap = cv2.VideoCapture(out)
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 6
    rows = list(csv.DictReader(open(table)))
    assert [int(r['frame']) for r in rows] == list(range(6))  # one face in every frame
    assert {r['face'] for r in rows} == {'0'}  # one track
    assert float(rows[2]['time']) == pytest.approx(0.2)
    assert 'smoothing: median (window 3)' in proc.stdout
    assert proc.stdout.splitlines()[-2:] == [f'video: {out}', f'CSV: {table} (6 rows)']


def test_video_demo_arguments():
    proc = _run(['demo/video_demo.py', 'a.mp4', 'cfg.py', 'ckpt.pth', '--webcam', '0',
                 '--out', 'x.mp4'])
    assert proc.returncode == 2 and 'give VIDEO CONFIG CHECKPOINT, or --webcam N' in proc.stderr
    proc = _run(['demo/video_demo.py', 'a.mp4', 'cfg.py', 'ckpt.pth'])
    assert proc.returncode == 2 and 'nothing to write' in proc.stderr
    proc = _run(['demo/video_demo.py', 'missing.mp4', TOY, 'ckpt.pth', '--csv', 'x.csv'])
    assert proc.returncode == 1 and 'error: video missing.mp4 does not exist' in proc.stderr
