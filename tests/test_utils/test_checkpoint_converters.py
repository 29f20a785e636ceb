# Copyright (c) mmfer contributors. All rights reserved.
"""Converting the authors' releases: SSL-FER files (pickled scheduler objects) are read
without running pickled code; ABAW5 MMClassification 0.x keys map onto SpatialFlatten."""
import os
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmfer.apis.deployment import init_model
from mmfer.utils import UnsafeCheckpointError, load_checkpoint_file
from mmfer.utils.checkpoint_converters import (UnpickledPlaceholder, convert_abaw5,
                                               convert_checkpoint, convert_sslfer,
                                               load_foreign_checkpoint,
                                               read_checkpoint_restricted)

torchvision = pytest.importorskip('torchvision')


class Payload:
    """Unpickling this object runs code: it writes ``path`` (what a malicious file does)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (exec, (f'open({self.path!r}, "w").write("pwned")', ))


class ResNetSimCLR(nn.Module):
    """SSL-FER's model: torchvision resnet18 with the projector as backbone.fc."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = torchvision.models.resnet18(num_classes=128)
        self.backbone.fc = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), self.backbone.fc)

    def forward(self, x):
        return self.backbone(x)


def _ssl_fer_file(path, payload=None, legacy=False) -> nn.Module:
    """A checkpoint saved the way SSL-FER's trainer does (state, optimizer, scheduler object)."""
    torch.manual_seed(0)
    model = ResNetSimCLR()
    opt = torch.optim.Adam(model.parameters(), 3e-4, weight_decay=1e-4)
    model(torch.randn(2, 3, 64, 64)).sum().backward()
    opt.step()
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100, eta_min=0)
    ckpt = {'epoch': 10, 'arch': 'resnet18', 'state_dict': model.state_dict(),
            'optimizer': opt.state_dict(), 'scheduler': scheduler}
    if payload is not None:
        ckpt['extra'] = payload
    torch.save(ckpt, str(path), _use_new_zipfile_serialization=not legacy)
    return model


def test_sslfer_release_is_converted_without_unpickling_objects(tmp_path, repo_root):
    marker = tmp_path / 'pwned.txt'
    src, dst = tmp_path / 'checkpoint_0010.pth.tar', tmp_path / 'sslfer_mmfer.pth'
    model = _ssl_fer_file(src, Payload(str(marker)))
    with pytest.raises(UnsafeCheckpointError, match='CosineAnnealingLR'):
        load_checkpoint_file(str(src))  # mmfer's safe loader refuses it
    rep = convert_checkpoint(str(src), str(dst), 'sslfer',
                             config=os.path.join(repo_root, 'tests/data/configs/'
                                                 'resnet18_gap_cls.py'))
    assert not marker.exists(), 'the pickled payload ran'
    assert rep['reader'] == 'restricted'
    assert {'builtins.exec', 'torch.optim.adam.Adam',
            'torch.optim.lr_scheduler.CosineAnnealingLR'} <= set(rep['replaced_globals'])
    assert sorted(rep['dropped']) == ['backbone.fc.0.bias', 'backbone.fc.0.weight',
                                      'backbone.fc.2.bias', 'backbone.fc.2.weight']
    assert rep['missing_in_checkpoint'] == ['head.fc.bias', 'head.fc.weight']
    assert rep['meta']['epoch'] == 10 and rep['meta']['arch'] == 'resnet18'
    # the result is a plain weights file, and its encoder computes what SSL-FER's did
    out = load_checkpoint_file(str(dst))
    tv = model.backbone
    assert set(out['state_dict']) == {f'backbone.{k}' for k in tv.state_dict()
                                      if not k.startswith('fc.')}
    mm = init_model(os.path.join(repo_root, 'tests/data/configs/resnet18_gap_cls.py'))
    mm.load_state_dict(out['state_dict'], strict=False)
    tv.fc = nn.Identity()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(mm.extract_feat(x)[0], tv.eval()(x), atol=1e-5, rtol=1e-5)


def test_restricted_reader_keeps_tensors_and_shares_storage(tmp_path):
    marker = tmp_path / 'pwned.txt'
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    torch.save({'a': base, 'view': base[1:, 2:], 'half': torch.ones(2, dtype=torch.float16),
                'evil': Payload(str(marker))}, tmp_path / 'x.pth')
    obj, replaced = read_checkpoint_restricted(str(tmp_path / 'x.pth'))
    assert replaced == ['builtins.exec'] and not marker.exists()
    torch.testing.assert_close(obj['a'], base)
    torch.testing.assert_close(obj['view'], base[1:, 2:])
    assert obj['half'].dtype == torch.float16
    assert isinstance(obj['evil'], UnpickledPlaceholder)
    assert repr(obj['evil']) == '<not unpickled: builtins.exec>'


def test_legacy_format_needs_trust_and_trust_is_loud(tmp_path):
    marker = tmp_path / 'pwned.txt'
    src = tmp_path / 'old.pth.tar'
    _ssl_fer_file(src, Payload(str(marker)), legacy=True)
    with pytest.raises(UnsafeCheckpointError, match='--trust-pickle'):
        load_foreign_checkpoint(str(src))
    assert not marker.exists()
    # a zip file never reaches the full unpickler, even with trust_pickle
    _ssl_fer_file(tmp_path / 'new.pth', Payload(str(marker)))
    assert load_foreign_checkpoint(str(tmp_path / 'new.pth'),
                                   trust_pickle=True)[1]['reader'] == 'restricted'
    assert not marker.exists()
    # the user vouches for the legacy file: it is fully unpickled (and the payload runs)
    with pytest.warns(UserWarning, match='EXECUTE ARBITRARY CODE'):
        obj, info = load_foreign_checkpoint(str(src), trust_pickle=True)
    assert info['reader'] == 'trusted_pickle' and marker.read_text() == 'pwned'
    assert isinstance(obj['scheduler'], torch.optim.lr_scheduler.CosineAnnealingLR)


class _ReleasedSpatialFlatten(nn.Module):
    """The ABAW5 release's neck: two ConvModule attributes conv1 (stride 1), conv2 (stride 2)."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvModule(in_channels, channels, 2, padding=0, norm_cfg=dict(type='BN'))
        self.conv2 = ConvModule(channels, channels, 2, stride=2, norm_cfg=dict(type='BN'))

    def forward(self, x):
        return (self.conv2(self.conv1(x)).flatten(1), )


def test_abaw5_release_maps_onto_spatial_flatten(tmp_path, repo_root):
    cfg = os.path.join(repo_root, 'tests/data/configs/tiny_va_spatialflatten.py')
    torch.manual_seed(1)
    reference = init_model(cfg)
    released = _ReleasedSpatialFlatten(64, 16)
    for m in released.modules():  # non-trivial BN statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    state = {k: v for k, v in reference.state_dict().items() if not k.startswith('neck.')}
    state.update({f'neck.{k}': v for k, v in released.state_dict().items()})
    src = tmp_path / 'abaw5.pth'
    torch.save({'meta': {'mmcls_version': '0.25.0', 'epoch': 4, 'CLASSES': ('Neutral', 'Anger')},
                'state_dict': state, 'optimizer': {'state': {}, 'param_groups': []}}, src)
    rep = convert_checkpoint(str(src), str(tmp_path / 'out.pth'), 'abaw5', config=cfg)
    assert rep['reader'] == 'weights_only' and rep['missing_in_checkpoint'] == []
    assert rep['renamed'] == len(released.state_dict())
    assert rep['meta']['mmcls_version'] == '0.25.0' and rep['meta']['CLASSES'] == [
        'Neutral', 'Anger']
    model = init_model(cfg, str(tmp_path / 'out.pth'))
    x = torch.randn(2, 64, 3, 3)
    with torch.no_grad():
        torch.testing.assert_close(model.neck(x)[0], released.eval()(x)[0])


def test_key_mapping_errors():
    with pytest.raises(ValueError, match=r"no backbone.\* key.*prefixes: \['model'\]"):
        convert_abaw5({'model.x': torch.zeros(1)})
    with pytest.raises(ValueError, match='unexpected keys'):
        convert_abaw5({'backbone.x': torch.zeros(1), 'ema.x': torch.zeros(1)})
    with pytest.raises(ValueError, match='not an SSL-FER ResNetSimCLR checkpoint'):
        convert_sslfer({'encoder.conv1.weight': torch.zeros(1)})
    plain, rep = convert_sslfer({'conv1.weight': torch.zeros(1), 'fc.weight': torch.zeros(1)})
    assert list(plain) == ['backbone.conv1.weight'] and rep['dropped'] == ['backbone.fc.weight']
    with pytest.raises(KeyError, match='unknown checkpoint kind'):
        convert_checkpoint('x', 'y', 'contrawarp')


def test_sslfer_cli(tmp_path, repo_root):
    marker = tmp_path / 'pwned.txt'
    _ssl_fer_file(tmp_path / 'best.pth.tar', Payload(str(marker)))
    proc = subprocess.run(
        [sys.executable, 'tools/model_converters/sslfer_to_mmfer.py',
         str(tmp_path / 'best.pth.tar'), str(tmp_path / 'out.pth')],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not marker.exists()
    assert '120 backbone tensors, dropped 4 projector tensors, read with restricted' in \
        proc.stdout
    assert 'not unpickled: builtins.exec' in proc.stdout
