# Copyright (c) mmfer contributors. All rights reserved.
"""ONNX / TorchScript export of classifier, VA and feature-extractor parts: the exported
files reproduce PyTorch within 1e-4 on a batch size they were not traced with."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmfer.apis.deployment import (ExportModel, compare_exported, export_onnx,
                                   export_torchscript, init_model, model_complexity,
                                   preprocess_info)

CFG = 'tests/data/configs/'
CASES = [('tiny_va_spatialflatten.py', 'classifier', (2, )),
         ('tiny_cls.py', 'classifier', (2, )),
         ('tiny_cls.py', 'features', (64, )),
         ('tiny_simclr.py', 'features', (64, ))]


def _model(repo_root, name, seed=0):
    torch.manual_seed(seed)
    return init_model(os.path.join(repo_root, CFG, name))


@pytest.mark.parametrize('cfg,part,out_shape', CASES)
def test_torchscript_matches_pytorch(tmp_path, repo_root, cfg, part, out_shape):
    module = ExportModel(_model(repo_root, cfg), part)
    path = str(tmp_path / 'm.pt')
    export_torchscript(module, path, (96, 96))
    with torch.no_grad():
        assert module(torch.zeros(5, 3, 96, 96)).shape == (5, *out_shape)
    assert compare_exported(module, path, (96, 96), batch=3) <= 1e-4


# torch's default (torch.export-based) exporter takes 10-25 s per model on this CPU (tracing +
# onnxscript translation), hence slow: it runs on the SpatialFlatten VA model only; the legacy
# TorchScript-based exporter (~1 s) on every case
@pytest.mark.parametrize('cfg,part,out_shape,dynamo',
                         [pytest.param(*CASES[0], True, marks=pytest.mark.slow)] +
                         [c + (False, ) for c in CASES])
def test_onnx_matches_onnxruntime(tmp_path, repo_root, cfg, part, out_shape, dynamo):
    pytest.importorskip('onnxruntime', reason='the [deploy] extra is not installed')
    if dynamo:
        pytest.importorskip('onnxscript', reason='the [deploy] extra is not installed')
    module = ExportModel(_model(repo_root, cfg), part)
    path = str(tmp_path / 'm.onnx')
    names = export_onnx(module, path, (96, 96), dynamo=dynamo)
    assert names == ['features' if part == 'features' else 'output']
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    out = sess.run(None, {'input': np.zeros((5, 3, 96, 96), np.float32)})[0]
    assert out.shape == (5, *out_shape)  # dynamic batch
    assert compare_exported(module, path, (96, 96), batch=3) <= 1e-4


def test_compare_detects_a_different_model(tmp_path, repo_root):
    """The check can fail: another model's export differs by far more than 1e-4."""
    a = ExportModel(_model(repo_root, 'tiny_cls.py', seed=0), 'features')
    b = ExportModel(_model(repo_root, 'tiny_cls.py', seed=1), 'features')
    export_torchscript(b, str(tmp_path / 'b.pt'), (96, 96))
    assert compare_exported(a, str(tmp_path / 'b.pt'), (96, 96)) > 1e-2


def test_checkpoint_is_loaded_strictly(tmp_path, repo_root):
    src = _model(repo_root, 'tiny_va_spatialflatten.py', seed=3)
    ckpt = str(tmp_path / 'w.pth')
    torch.save({'state_dict': src.state_dict(), 'meta': {}}, ckpt)
    torch.manual_seed(4)
    loaded = init_model(os.path.join(repo_root, CFG, 'tiny_va_spatialflatten.py'), ckpt)
    for (k, v), w in zip(src.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(v, w), k
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}}, ckpt)
    with pytest.raises(RuntimeError, match='size mismatch|Missing key'):
        init_model(os.path.join(repo_root, CFG, 'tiny_va_spatialflatten.py'), ckpt)


def test_self_supervised_model_has_no_classifier_part(repo_root):
    with pytest.raises(ValueError, match="no classifier head .* part='features'"):
        ExportModel(_model(repo_root, 'tiny_simclr.py'), 'classifier')


def test_preprocess_info(repo_root):
    model = _model(repo_root, 'tiny_va_spatialflatten.py')
    info = preprocess_info(model, (96, 96), 'classifier', ['output'])
    assert info['input_shape'] == ['N', 3, 96, 96] and info['bgr_to_rgb'] is True
    np.testing.assert_allclose(info['mean'], [123.675, 116.28, 103.53], rtol=1e-6)
    np.testing.assert_allclose(info['std'], [58.395, 57.12, 57.375], rtol=1e-6)


def test_model_complexity_counts_the_convs(repo_root):
    """The neck's conv FLOPs by hand: 2x2 conv 64->16 on 3x3 (2x2 output) + 2x2 conv 16->16
    (1x1 output), one FLOP per multiply-add (mmengine / fvcore convention)."""
    from mmengine.analysis import FlopAnalyzer
    model = _model(repo_root, 'tiny_va_spatialflatten.py')
    res = model_complexity(ExportModel(model, 'classifier'), (96, 96))
    assert res['params'] == sum(p.numel() for p in model.parameters())
    neck = FlopAnalyzer(model.neck.convs, (torch.zeros(1, 64, 3, 3), )).by_operator()
    assert neck['conv'] == 2 * 2 * 16 * 64 * 2 * 2 + 1 * 1 * 16 * 16 * 2 * 2
    assert res['flops'] > neck['conv']


def test_onnx_tool_cli(tmp_path, repo_root):
    pytest.importorskip('onnxruntime', reason='the [deploy] extra is not installed')
    out = tmp_path / 'va.onnx'
    proc = subprocess.run(
        [sys.executable, 'tools/deployment/pytorch2onnx.py', CFG + 'tiny_va_spatialflatten.py',
         '--out', str(out), '--shape', '96', '--verify', '--legacy-exporter'],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'onnxruntime vs PyTorch: max abs diff' in proc.stdout
    meta = json.loads((tmp_path / 'va.json').read_text())
    assert meta['part'] == 'classifier' and meta['outputs'] == ['output']


def test_torchscript_tool_cli(tmp_path, repo_root):
    proc = subprocess.run(
        [sys.executable, 'tools/deployment/pytorch2torchscript.py', CFG + 'tiny_simclr.py',
         '--out', str(tmp_path / 'f.pt'), '--part', 'features', '--shape', '96', '--verify'],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'TorchScript vs PyTorch: max abs diff' in proc.stdout
