# Copyright (c) mmfer contributors. All rights reserved.
import importlib.util
import os.path as osp
import subprocess
import sys

import cv2
import pytest

from mmfer.datasets.synthetic import write_voxceleb

CONTRAWARP = """
_base_ = ['{root}/configs/_base_/datasets/contrawarp_pipeline.py',
          '{root}/configs/_base_/default_runtime.py']
train_dataloader = dict(
    batch_size=2, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VoxCelebFrames', data_root='{data}', landmark_file='landmarks.npz',
                 pipeline={{{{_base_.train_pipeline}}}}))
"""
SSLFER = """
_base_ = ['{root}/configs/_base_/datasets/sslfer_voxceleb.py',
          '{root}/configs/_base_/default_runtime.py']
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(data_root='{data}', data_prefix=dict(img_path=''), fps=5))
"""


def _load_tool(repo_root):
    spec = importlib.util.spec_from_file_location(
        'show_views', osp.join(repo_root, 'tools', 'visualize', 'show_views.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _check_grid(path, rows, cols, cell=64):
    img = cv2.imread(str(path))
    assert img is not None
    assert img.shape == (rows * (cell + 22 + 4), cols * cell, 3)
    for r in range(rows):  # every cell has drawn content below its title strip
        for c in range(cols):
            y = r * (cell + 26) + 22
            assert img[y:y + cell, c * cell:(c + 1) * cell].std() > 5
    return img


def test_show_views_draws_both_kinds_of_config(tmp_path, repo_root):
    data = str(tmp_path / 'vox')
    write_voxceleb(data, num_identities=2, videos_per_identity=1, frames_per_video=20,
                   image_size=48, seed=0)
    cw_cfg = tmp_path / 'cw.py'
    cw_cfg.write_text(CONTRAWARP.format(root=repo_root, data=data))
    ss_cfg = tmp_path / 'ss.py'
    ss_cfg.write_text(SSLFER.format(root=repo_root, data=data))

    # the tool as a user runs it (one subprocess: imports cost seconds on 2 cores)
    proc = subprocess.run(
        [sys.executable, 'tools/visualize/show_views.py', str(cw_cfg), '--num', '3', '--out',
         str(tmp_path / 'cw.png'), '--cell', '64'], cwd=repo_root, capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'wrote' in proc.stdout
    cw = _check_grid(tmp_path / 'cw.png', 3, 4)
    # the x3 column carries the warp arrows (cyan, BGR (255, 255, 0)); x2 has none
    cyan = (cw[..., 0] > 200) & (cw[..., 1] > 200) & (cw[..., 2] < 80)
    assert cyan[:, 3 * 64:].sum() > 10 and cyan[:, 2 * 64:3 * 64].sum() == 0

    tool = _load_tool(repo_root)  # same entry point, in process
    tool.main([str(ss_cfg), '--num', '2', '--out', str(tmp_path / 'ss.png'), '--cell', '64'])
    _check_grid(tmp_path / 'ss.png', 2, 5)  # original + 4 views (hard-negative pairs)
    with pytest.raises(SystemExit, match='train_dataloader'):
        tool.main([osp.join(repo_root, 'configs/_base_/default_runtime.py')])
