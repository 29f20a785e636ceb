# Copyright (c) mmfer contributors. All rights reserved.
"""tools/abaw5/predict.py as a user runs it (the library is tested in
tests/test_evaluation/test_abaw5.py)."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmfer.datasets.affwild2 import EXPR_CLASSES
from mmfer.evaluation.abaw5 import smooth_logits
from mmfer.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HEADER = ','.join(EXPR_CLASSES)
TOOL = osp.join(REPO, 'tools', 'abaw5', 'predict.py')
CONFIG = 'configs/abaw5/abaw5_resnet50-spatialflatten_1xb128-sgd-coslr-8k_affwild2-expr.py'

TINY = {
    'model.backbone.depth': 18,
    'model.neck.in_channels': 512,
    'model.neck.input_size': 3,
    'model.head.in_channels': 0,  # set below from the neck
    'test_dataloader.dataset.pipeline.1.scale': (104, 104),
    'test_dataloader.dataset.pipeline.2.crop_size': 96,
}


def _write_tree(root):
    folder = osp.join(root, 'annotations', 'EXPR_Classification_Challenge', 'Validation_Set')
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    videos = {'vidA': (9, [1, 5, 6]), 'vidB_left': (5, []), 'vidB_right': (4, [2])}
    labels = {}
    for video, (n, missing) in videos.items():
        lab = rng.integers(0, 8, size=n)
        lab[n // 2] = -1
        labels[video] = lab
        with open(osp.join(folder, f'{video}.txt'), 'w') as f:
            f.write('\n'.join([HEADER] + [str(v) for v in lab]) + '\n')
        img_dir = osp.join(root, 'cropped_aligned', video)
        os.makedirs(img_dir)
        for fr in range(1, n + 1):
            if fr not in missing:
                img = rng.integers(0, 256, size=(48, 48, 3), dtype=np.uint8)
                cv2.imwrite(osp.join(img_dir, f'{fr:05d}.jpg'), img)
    return videos, labels


def test_predict_writes_one_line_per_listed_frame(tmp_path):
    root = str(tmp_path / 'affwild2')
    videos, labels = _write_tree(root)
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    cfg.merge_from_dict(TINY)
    neck = MODELS.build(cfg.model.neck)
    options = dict(TINY, **{'model.head.in_channels': neck.out_channels})
    cfg.merge_from_dict(options)
    torch.manual_seed(0)
    cfg.model.data_preprocessor = cfg.data_preprocessor  # as mmengine's Runner does
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, ckpt)
    out = str(tmp_path / 'pred')
    cmd = [sys.executable, TOOL, CONFIG, ckpt, '--split', 'val',
           '--data-root', root, '--out', out, '--smooth', 'median', '--window', '3',
           '--num-workers', '0', '--device', 'cpu', '--cfg-options'
           ] + [f'{k}={v}'.replace(' ', '') for k, v in options.items()]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    saved = np.load(osp.join(out, 'logits.npz'))
    n_images = sum(n - len(m) for n, m in videos.values())
    assert saved['logits'].shape == (n_images, 8)
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    assert set(metrics) == {'none', 'median_w3'}
    for variant in ('none', 'median_w3'):
        folder = osp.join(out, variant)
        sub = open(osp.join(folder, 'submission.txt')).read().splitlines()
        assert sub[0] == 'image_location,' + HEADER
        expected_names = [f'{v}/{f:05d}.jpg' for v in sorted(videos)
                          for f in range(1, videos[v][0] + 1)]
        assert [line.split(',')[0] for line in sub[1:]] == expected_names
        all_pred, all_gt = [], []
        for video, (n, missing) in videos.items():
            lines = open(osp.join(folder, f'{video}.txt')).read().splitlines()
            assert lines[0] == HEADER and len(lines) == n + 1
            pred = np.array([int(x) for x in lines[1:]])
            assert np.all((pred >= 0) & (pred < 8))
            sel = saved['videos'] == video
            frames, logits = saved['frames'][sel], saved['logits'][sel]
            assert list(frames) == [f for f in range(1, n + 1) if f not in missing]
            method = 'none' if variant == 'none' else 'median'
            scores = smooth_logits(logits, method, 3)
            np.testing.assert_array_equal(pred[frames - 1], scores.argmax(1))
            for f in missing:  # carried from the previous frame (or the first one)
                src = max([g for g in frames if g < f], default=frames[0])
                assert pred[f - 1] == pred[src - 1]
            sub_labels = [int(line.split(',')[1]) for line in sub[1:]
                          if line.startswith(video + '/')]
            assert sub_labels == pred.tolist()
            all_pred.append(pred)
            all_gt.append(labels[video])
        pred, gt = np.concatenate(all_pred), np.concatenate(all_gt)
        from sklearn.metrics import f1_score
        valid = gt >= 0
        ref = 100 * f1_score(gt[valid], pred[valid], labels=list(range(8)), average='macro',
                             zero_division=0)
        assert metrics[variant]['macro_f1'] == pytest.approx(ref, abs=1e-6)
        assert metrics[variant]['num_frames'] == 18
        assert metrics[variant]['num_annotated'] == 15
    assert 'macro-F1' in proc.stdout and 'median_w3' in proc.stdout
    # the tool ends by saying where the submission files are
    lines = proc.stdout.splitlines()
    assert 'submission files (3 videos, 18 frames, 14 with a face image):' in lines
    for variant in ('none', 'median_w3'):
        assert '  ' + osp.join(out, variant, 'submission.txt') in lines

    # the tool's logits are the model's on the test pipeline
    from mmfer.registry import DATASETS
    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg.update(data_root=root, split='val', keep_unannotated=True)
    ds = DATASETS.build(ds_cfg)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(
            {k: [v] for k, v in ds[0].items()}, False)
        ref_logits = model(data['inputs'], mode='tensor')
    np.testing.assert_allclose(saved['logits'][0], ref_logits[0].numpy(), rtol=1e-4,
                               atol=1e-4)


def test_bad_window_is_refused_before_any_inference(tmp_path):
    """Before: `--window 4` failed only after the whole inference (logits.npz written)."""
    ckpt = tmp_path / 'model.pth'
    torch.save({'meta': {}, 'state_dict': {}}, str(ckpt))
    out = tmp_path / 'pred'
    cmd = [sys.executable, TOOL, CONFIG, str(ckpt), '--data-root', str(tmp_path / 'none'),
           '--out', str(out), '--smooth', 'median', '--window', '4', '--device', 'cpu']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert 'error: --window must be a positive odd number, got 4' in proc.stderr
    assert not out.exists()  # no dataset, model or logits: nothing was done


def test_test_set_mode_writes_the_listed_frames(tmp_path):
    """--split test: no annotation files, the frames come from the organisers' list."""
    from mmfer.datasets.synthetic.writers import write_affwild2
    root = str(tmp_path / 'affwild2')
    info = write_affwild2(root, num_videos=3, frames_per_video=12, image_size=48, seed=3,
                          missing_fraction=0.2)
    names = sorted(info['videos'])
    # the test set has no annotations: hide them so nothing can read labels
    os.rename(osp.join(root, 'annotations'), osp.join(root, 'hidden_annotations'))
    listed = {names[0]: list(range(1, 13)),           # every frame, by frame lines
              names[1]: [2, 3, 4, 9, 10, 11, 12]}     # a subset, by frame lines
    frame_list = tmp_path / 'test_set.txt'
    lines = ['image_location,' + HEADER]
    for video, frames in listed.items():
        lines += [f'{video}/{f:05d}.jpg,' for f in frames]
    lines.append(names[2])                             # a whole video, by name
    frame_list.write_text('\n'.join(lines) + '\n')
    last_image = max(f for f in range(1, 13) if f not in info['videos'][names[2]]['missing'])
    listed[names[2]] = list(range(1, last_image + 1))

    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    cfg.merge_from_dict(TINY)
    options = dict(TINY, **{'model.head.in_channels': MODELS.build(cfg.model.neck).out_channels})
    cfg.merge_from_dict(options)
    torch.manual_seed(0)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, ckpt)
    out = str(tmp_path / 'pred')
    cmd = [sys.executable, TOOL, CONFIG, ckpt, '--split', 'test', '--frame-list',
           str(frame_list), '--data-root', root, '--out', out, '--smooth', 'mean',
           '--window', '3', '--num-workers', '0', '--device', 'cpu', '--cfg-options'
           ] + [f'{k}={v}'.replace(' ', '') for k, v in options.items()]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    saved = np.load(osp.join(out, 'logits.npz'))
    for variant, method in (('none', 'none'), ('mean_w3', 'mean')):
        sub = open(osp.join(out, variant, 'submission.txt')).read().splitlines()
        assert sub[0] == 'image_location,' + HEADER
        # one line per listed frame, in the list's order (videos as listed, not sorted)
        assert [line.split(',')[0] for line in sub[1:]] == [
            f'{v}/{f:05d}.jpg' for v in listed for f in listed[v]]
        for video, frames in listed.items():
            missing = set(info['videos'][video]['missing'])
            sel = saved['videos'] == video
            have = saved['frames'][sel]
            assert list(have) == [f for f in frames if f not in missing]
            pred = dict(zip(frames, [int(line.split(',')[1]) for line in sub[1:]
                                     if line.startswith(video + '/')]))
            smoothed = smooth_logits(saved['logits'][sel], method, 3).argmax(1)
            for f, label in zip(have, smoothed):
                assert pred[f] == label
            for f in frames:
                if f in missing:  # carried over from the previous listed frame with an image
                    src = max([g for g in have if g < f], default=have[0])
                    assert pred[f] == pred[src]
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    assert metrics['none']['num_annotated'] == 0 and 'macro_f1' not in metrics['none']
    assert metrics['none']['num_frames'] == sum(len(v) for v in listed.values())
    assert osp.join(out, 'mean_w3', 'submission.txt') in proc.stdout


def test_test_set_needs_a_frame_list_and_a_good_one(tmp_path):
    ckpt = tmp_path / 'model.pth'
    torch.save({'meta': {}, 'state_dict': {}}, str(ckpt))
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    base = [sys.executable, TOOL, CONFIG, str(ckpt), '--out', str(tmp_path / 'pred'),
            '--device', 'cpu', '--split', 'test']
    proc = subprocess.run(base, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1 and '--split test needs --frame-list' in proc.stderr
    bad = tmp_path / 'list.txt'
    bad.write_text('image_location,Neutral\nvid1/00002.jpg,\nvid1/00001.jpg,\n')
    proc = subprocess.run(base + ['--frame-list', str(bad)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert f'{bad}:3: frame 1 of vid1 is not after the previous listed frame (2)' in proc.stderr
    assert not (tmp_path / 'pred').exists()
