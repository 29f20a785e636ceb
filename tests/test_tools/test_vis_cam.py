# Copyright (c) mmfer contributors. All rights reserved.
"""Grad-CAM (mmfer.visualization.grad_cam, tools/analysis_tools/vis_cam.py): with global
average pooling and a linear head, Grad-CAM at the last stage is the class activation map
relu(sum_k w_ck A_k) (Zhou et al. 2016), computed here by hand."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from mmfer.apis.deployment import init_model
from mmfer.datasets.synthetic import SyntheticFaceGenerator

pytest.importorskip('pytorch_grad_cam', reason='grad-cam is not installed')


def test_grad_cam_equals_the_class_activation_map(repo_root):
    from mmfer.visualization.grad_cam import grad_cam, preprocess
    torch.manual_seed(0)
    model = init_model(os.path.join(repo_root, 'tests/data/configs/tiny_cls.py'))
    img = SyntheticFaceGenerator(image_size=112, seed=0).render(2, 'happiness', seed=3)['img']
    for target in (0, 1):
        res = grad_cam(model, img, target_class=target, input_size=(128, 128))
        assert res['cam'].shape == (128, 128) and res['overlay'].shape == (128, 128, 3)
        assert res['target_class'] == target
        with torch.no_grad():
            feats = model.backbone(preprocess(model, img, (128, 128)))[-1][0]   # (64, 4, 4)
        cam = np.maximum(np.einsum('k,khw->hw', model.head.fc.weight[target].detach().numpy(),
                                   feats.numpy()), 0)
        cam = (cam - cam.min()) / (cam.max() - cam.min() + 1e-7)
        cam = cv2.resize(cam, (128, 128))
        cam = (cam - cam.min()) / (cam.max() - cam.min() + 1e-7)  # rescaled after resizing
        np.testing.assert_allclose(res['cam'], cam, atol=2e-3)
    with pytest.raises(KeyError, match="no module 'backbone.layer9'"):
        grad_cam(model, img, target_layer='backbone.layer9', input_size=(64, 64))
    with pytest.raises(ValueError, match=r'target_class 5 is not in \[0, 2\)'):
        grad_cam(model, img, target_class=5, input_size=(64, 64))


def test_vis_cam_cli(tmp_path, repo_root):
    img = SyntheticFaceGenerator(image_size=112, seed=0).render(1, seed=1)['img']
    cv2.imwrite(str(tmp_path / 'face.png'), img)
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/vis_cam.py', str(tmp_path / 'face.png'),
         'tests/data/configs/tiny_cls.py', '--out', str(tmp_path / 'cam.png'), '--shape', '96',
         '--method', 'gradcam++'], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'gradcam++ for class' in proc.stdout
    assert cv2.imread(str(tmp_path / 'cam.png')).shape == (96, 96, 3)
