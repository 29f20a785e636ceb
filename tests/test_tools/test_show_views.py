# Copyright (c) mmfer contributors. All rights reserved.
"""tools/visualize/show_views.py as a user runs it (drawing: tests/test_visualization/)."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmfer.datasets.synthetic import write_voxceleb
from mmfer.visualization import FaceVisualizer

CONTRAWARP = """
_base_ = ['{root}/configs/_base_/datasets/ms1m_contrawarp_byol.py',
          '{root}/configs/_base_/default_runtime.py']
train_dataloader = dict(
    batch_size=2, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_delete_=True, type='VoxCelebFrames', data_root='{data}',
                 landmark_file='landmarks.npz',
                 pipeline={{{{_base_.train_pipeline}}}}))
"""
SSLFER = """
_base_ = ['{root}/configs/_base_/datasets/sslfer_voxceleb.py',
          '{root}/configs/_base_/default_runtime.py']
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(data_root='{data}', data_prefix=dict(img_path=''), fps=5))
"""


def _check_grid(img, rows, cols, cell=64, top=0):
    assert img.shape == (top + rows * (cell + 22 + 4), cols * cell, 3)
    for r in range(rows):  # every cell has drawn content below its title strip
        for c in range(cols):
            y = top + r * (cell + 26) + 22
            assert img[y:y + cell, c * cell:(c + 1) * cell].std() > 5


def _run(repo_root, *args):
    return subprocess.run([sys.executable, 'tools/visualize/show_views.py', *args],
                          cwd=repo_root, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope='module')
def voxceleb(tmp_path_factory):
    data = str(tmp_path_factory.mktemp('vox') / 'vox')
    write_voxceleb(data, num_identities=2, videos_per_identity=1, frames_per_video=20,
                   image_size=48, seed=0)
    return data


def test_show_views_contrawarp_grid_with_legend(tmp_path, repo_root, voxceleb):
    cfg = tmp_path / 'cw.py'
    cfg.write_text(CONTRAWARP.format(root=repo_root, data=voxceleb))
    proc = _run(repo_root, str(cfg), '--num', '3', '--out', str(tmp_path / 'cw.png'),
                '--cell', '128')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'wrote {tmp_path / "cw.png"}' in proc.stdout
    img = cv2.imread(str(tmp_path / 'cw.png'))[..., ::-1]  # RGB
    vis = FaceVisualizer(name='test_show_views_legend')
    legend = vis.legend(4 * 128)
    np.testing.assert_array_equal(img[:legend.shape[0]], legend)  # the colour legend on top
    _check_grid(img, 3, 4, cell=128, top=legend.shape[0])
    # the x3 column carries the warp arrows (cyan); x2 has none. Cells of 128 px: the paper's
    # steps (|m - c| of 10-14 px at 224 px) would be 3-4 px long in a 64 px cell
    grid = img[legend.shape[0]:]
    cyan = (np.abs(grid.astype(int) - vis.warp_arrow_color).sum(-1) < 60)
    assert cyan[:, 3 * 128:].sum() > 10 and cyan[:, 2 * 128:3 * 128].sum() == 0


@pytest.mark.slow
def test_show_views_sslfer_and_errors(tmp_path, repo_root, voxceleb):
    """Multi-view (SSL-FER) configs, and a config without a train_dataloader (~30 s: two
    interpreter start-ups; the drawing itself is tested in tests/test_visualization/)."""
    cfg = tmp_path / 'ss.py'
    cfg.write_text(SSLFER.format(root=repo_root, data=voxceleb))
    proc = _run(repo_root, str(cfg), '--num', '2', '--out', str(tmp_path / 'ss.png'),
                '--cell', '64')
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_grid(cv2.imread(str(tmp_path / 'ss.png')), 2, 5)  # original + 4 views; no legend
    proc = _run(repo_root, 'configs/_base_/default_runtime.py')
    assert proc.returncode == 1 and 'has no train_dataloader' in proc.stderr
