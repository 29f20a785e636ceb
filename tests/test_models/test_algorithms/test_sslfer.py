# Copyright (c) mmfer contributors. All rights reserved.
"""SSLFER's loss against independent, loop-based InfoNCE / Eq. (2) computations."""
import math
import os
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models import SimCLR
from mmpretrain.structures import DataSample
from torch import nn

from mmfer.models.algorithms.sslfer import SSLFER
from mmfer.utils import load_checkpoint_file

TAU = 0.07


class _FixedDescriptor(nn.Module):
    """A target generator returning given descriptors, whatever the images."""

    def __init__(self, desc):
        super().__init__()
        self.desc = desc

    def forward(self, imgs, kpts):
        return F.normalize(self.desc, dim=1)


def _model(encoder, **kw):
    backbone, neck = encoder
    return SSLFER(backbone=backbone, neck=neck,
                  head=dict(type='MaskedInfoNCEHead',
                            loss=dict(type='InfoNCELoss', temperature=TAU)), **kw)


def _samples(n, roles, valid=None, kpts=True, no_kpts=()):
    out = []
    for i in range(n):
        ds = DataSample()
        ds.set_field(list(roles), 'view_roles', field_type='metainfo')
        if valid is not None:
            ds.set_field(bool(valid[i]), 'hardneg_valid', field_type='metainfo')
        if kpts and i not in no_kpts:
            ds.set_field(torch.rand(68, 2) * 20 + 5, 'gt_keypoints', field_type='metainfo')
        out.append(ds)
    return out


def _total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def _naive_term(z, r, pos_cols, neg_cols):
    """mean over p of -log(e^{s_rp/τ} / (e^{s_rp/τ} + Σ_n e^{s_rn/τ})) with python loops."""
    terms = []
    for p in pos_cols:
        num = math.exp(float(z[r] @ z[p]) / TAU)
        den = num + sum(math.exp(float(z[r] @ z[c]) / TAU) for c in neg_cols)
        terms.append(-math.log(num / den))
    return sum(terms) / len(terms)


def test_plain_sslfer_equals_naive_ntxent_and_mmpretrain_simclr(identity_encoder):
    torch.manual_seed(1)
    n, d = 6, 16
    views = [torch.randn(n, d, 1, 1, dtype=torch.float64) for _ in range(2)]
    model = _model(identity_encoder)
    losses = model.loss(views, _samples(n, ['anchor', 'positive'], kpts=False))
    assert set(losses) == {'loss_l1', 'acc_inst'}

    z = F.normalize(torch.cat(views).flatten(1), dim=1)
    rows, right = [], 0
    for r in range(2 * n):
        p = (r + n) % (2 * n)
        negs = [c for c in range(2 * n) if c not in (r, p)]
        rows.append(_naive_term(z, r, [p], negs))
        right += float(z[r] @ z[p]) > max(float(z[r] @ z[c]) for c in negs)
    assert losses['loss_l1'].item() == pytest.approx(sum(rows) / len(rows), rel=1e-9)
    assert losses['acc_inst'].item() == pytest.approx(100 * right / (2 * n))

    # mmpretrain's SimCLR (ContrastiveHead + CE, τ=0.07) on the same embeddings
    backbone, neck = identity_encoder
    ref = SimCLR(backbone=backbone, neck=neck,
                 head=dict(type='ContrastiveHead', loss=dict(type='mmpretrain.CrossEntropyLoss'),
                           temperature=TAU))
    ref_loss = ref.loss([v for v in views], [DataSample() for _ in range(n)])['loss']
    assert losses['loss_l1'].item() == pytest.approx(ref_loss.item(), rel=1e-9)


def test_hardneg_rows_are_extra_negatives_and_invalid_ones_dropped(identity_encoder):
    torch.manual_seed(2)
    n, d = 5, 8
    views = [torch.randn(n, d, 1, 1, dtype=torch.float64) for _ in range(3)]
    valid = [True, False, True, True, False]
    model = _model(identity_encoder, use_hardneg=True)
    losses = model.loss(views, _samples(n, ['anchor', 'positive', 'hardneg'], valid, False))
    assert losses['num_hardneg'].item() == 3

    z = F.normalize(torch.cat(views).flatten(1), dim=1)
    hard_rows = [2 * n + i for i in range(n) if valid[i]]
    cols = list(range(2 * n)) + hard_rows
    rows = []
    for r in range(2 * n):
        p = (r + n) % (2 * n)
        rows.append(_naive_term(z, r, [p], [c for c in cols if c not in (r, p)]))
    assert losses['loss_l1'].item() == pytest.approx(sum(rows) / len(rows), rel=1e-9)

    with pytest.raises(ValueError, match='use_hardneg=False'):
        _model(identity_encoder).loss(
            views, _samples(n, ['anchor', 'positive', 'hardneg'], valid, False))


def test_hardneg_pair_is_a_full_instance(identity_encoder):
    torch.manual_seed(3)
    n, d = 4, 8
    views = [torch.randn(n, d, 1, 1, dtype=torch.float64) for _ in range(4)]
    roles = ['anchor', 'positive', 'hardneg', 'hardneg_positive']
    valid = [True, True, False, True]
    losses = _model(identity_encoder, use_hardneg=True).loss(views, _samples(n, roles, valid,
                                                                             False))
    z = F.normalize(torch.cat(views).flatten(1), dim=1)
    inst = [i for i in range(n)] * 2 + [n + i for i in range(n)] * 2
    keep = [r for r in range(4 * n) if r < 2 * n or valid[r % n]]
    rows = []
    for r in keep:
        p = [c for c in keep if c != r and inst[c] == inst[r]]
        rows.append(_naive_term(z, r, p, [c for c in keep if inst[c] != inst[r]]))
    assert losses['loss_l1'].item() == pytest.approx(sum(rows) / len(rows), rel=1e-9)
    assert losses['num_hardneg'].item() == 3


@pytest.mark.parametrize('num_fn', [1, 2])
def test_maskfn_equals_eq2_computed_independently(identity_encoder, num_fn):
    torch.manual_seed(4)
    n, d = 6, 8
    views = [torch.randn(n, d, 1, 1, dtype=torch.float64) for _ in range(3)]
    desc = torch.randn(n, 10, dtype=torch.float64)
    model = _model(identity_encoder, use_hardneg=True, num_false_negatives=num_fn,
                   target_generator=_FixedDescriptor(desc))
    valid = [True, True, False, True, True, True]
    losses = model.loss(views, _samples(n, ['anchor', 'positive', 'hardneg'], valid,
                                        no_kpts=(3, )))
    assert losses['maskfn_no_landmarks'].item() == 1

    # independent: mine the num_fn most descriptor-similar other samples per sample; sample 3
    # has no landmarks: it is never mined and mines nothing
    dn = F.normalize(desc, dim=1)
    mined = {3: []}
    for i in [0, 1, 2, 4, 5]:
        sims = sorted(((float(dn[i] @ dn[k]), k) for k in range(n) if k not in (i, 3)),
                      reverse=True)
        mined[i] = [k for _, k in sims[:num_fn]]
    z = F.normalize(torch.cat(views).flatten(1), dim=1)
    sample_of = {r: r % n for r in range(2 * n)}
    hard_rows = [2 * n + i for i in range(n) if valid[i]]
    all_cols = list(range(2 * n)) + hard_rows
    l1, l2 = [], []
    for r in range(2 * n):
        i = sample_of[r]
        p = (r + n) % (2 * n)
        fn_cols = [c for c in range(2 * n) if sample_of[c] in mined[i]]
        neg = [c for c in all_cols if c not in (r, p) and c not in fn_cols]
        # never mine the own positive or own hard negative
        assert p not in fn_cols and (2 * n + i) not in fn_cols
        l1.append(_naive_term(z, r, [p], neg))
        if fn_cols:
            l2.append(_naive_term(z, r, fn_cols, neg))
    assert len(l2) == 2 * (n - 1)
    exp_l1 = sum(l1) / len(l1)
    exp_l2 = sum(l2) / len(l2)
    assert losses['loss_l1'].item() == pytest.approx(exp_l1, rel=1e-9)
    assert losses['loss_fn'].item() == pytest.approx(0.5 * exp_l2, rel=1e-9)
    assert _total(losses).item() == pytest.approx(exp_l1 + 0.5 * exp_l2, rel=1e-9)


def test_maskfn_refuses_to_build_without_imagenet_weights(identity_encoder):
    with pytest.raises(ValueError, match='allow_random_descriptor'):
        _model(identity_encoder, target_generator=dict(type='EyeMouthDescriptor'))
    with pytest.warns(UserWarning, match='RANDOMLY INITIALISED'):
        model = _model(identity_encoder, target_generator=dict(
            type='EyeMouthDescriptor', allow_random_descriptor=True))
    assert model.with_target_generator


def test_maskfn_needs_keypoints(identity_encoder):
    n = 4
    model = _model(identity_encoder, target_generator=_FixedDescriptor(torch.randn(n, 5)))
    views = [torch.randn(n, 3, 1, 1) for _ in range(2)]
    with pytest.raises(KeyError, match="no data sample of the batch has 'gt_keypoints'"):
        model.loss(views, _samples(n, ['anchor', 'positive'], kpts=False))


def test_view_role_errors(identity_encoder):
    model = _model(identity_encoder, use_hardneg=True)
    views = [torch.randn(3, 4, 1, 1) for _ in range(2)]
    with pytest.raises(ValueError, match='need an anchor and a positive'):
        model.loss(views, _samples(3, ['anchor', 'hardneg'], kpts=False))
    with pytest.raises(ValueError, match='unknown view roles'):
        model.loss(views, _samples(3, ['anchor', 'other'], kpts=False))
    mixed = _samples(3, ['anchor', 'positive'], kpts=False)
    mixed[2].set_field(['positive', 'anchor'], 'view_roles', field_type='metainfo')
    with pytest.raises(ValueError, match='must agree in a batch'):
        model.loss(views, mixed)


def test_real_backbone_gradients_and_frozen_descriptor():
    from mmfer.registry import MODELS
    model = MODELS.build(dict(
        type='SSLFER',
        backbone=dict(type='ResNet', depth=18, norm_cfg=dict(type='BN')),
        neck=dict(type='NonLinearNeck', in_channels=512, hid_channels=32, out_channels=128,
                  num_layers=2, with_avg_pool=True, norm_cfg=dict(type='BN1d')),
        head=dict(type='MaskedInfoNCEHead'),
        target_generator=dict(type='EyeMouthDescriptor', allow_random_descriptor=True,
                              eye_size=(16, 16), mouth_size=(16, 16)),
        use_hardneg=True))
    n = 4
    views = [torch.randn(n, 3, 32, 32) for _ in range(3)]
    losses = model.loss(views, _samples(n, ['anchor', 'positive', 'hardneg'], [True] * n))
    assert model.neck.fc1.out_features == 128
    _total(losses).backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.target_generator.parameters())


# ----------------------------------------------------------------------------- end to end
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
ROW_F = os.path.join(REPO, 'configs/sslfer/'
                     'sslfer_resnet18_4xb64-adam-coslr-210e_voxceleb_f-timeaug-hardneg-faceswap-'
                     'maskfn.py')


@pytest.fixture(scope='module')
def vox_cfg(tmp_path_factory):
    """Synthetic VoxCeleb tree (2 identities x 2 videos x 10 frames at 2 fps = 5 s) and a tiny
    config inheriting the Table-1 row (f) config (TimeAug + HardNeg pairs + FaceSwap + MaskFN)
    with its view pipeline at 32 px."""
    from mmfer.datasets.synthetic import write_voxceleb
    root = tmp_path_factory.mktemp('vox')
    write_voxceleb(str(root / 'data'), num_identities=2, videos_per_identity=2,
                   frames_per_video=10, image_size=48, seed=0)
    cfg = root / 'tiny_sslfer.py'
    cfg.write_text(f'''
_base_ = [{ROW_F!r}]
model = dict(target_generator=dict(checkpoint=None, allow_random_descriptor=True,
                                   eye_size=(16, 32), mouth_size=(16, 32)),
             neck=dict(hid_channels=64))
view = [dict(type='RandomLandmarkMask', prob=0.8), dict(type='FaceResize', scale=40),
        dict(type='FaceRandomCrop', crop_size=32), dict(type='FaceRandomFlip', prob=0.5),
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5)]
views = ('anchor', 'positive', 'hardneg', 'hardneg_positive')
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='TimeAug', max_offset=1.0),
    dict(type='FaceSwap', prob=0.5),
    dict(type='HardNeg', min_offset=3.0),
    dict(type='TimeAug', max_offset=1.0, anchor_role='hardneg', role='hardneg_positive'),
    dict(type='FaceSwap', prob=0.5, role='hardneg_positive'),
    dict(type='ApplyToViews', transforms=view, views=views),
    dict(type='PackMultiViewInputs', view_roles=views,
         data_keys=('identity', 'video', 'frame', 'time_offset', 'hardneg_valid',
                    'face_swapped'),
         meta_keys=('img_path', 'gt_keypoints')),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={str(root / 'data')!r},
                                     data_prefix=dict(img_path=''), fps=2, indices=8,
                                     pipeline=train_pipeline))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
''')
    return str(cfg)


def _run(cmd, env=None):
    full_env = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_dist_train_two_cpu_processes(vox_cfg, tmp_path):
    """tools/dist_train.sh -> torchrun (2 CPU processes, gloo) -> tools/train.py on the tiny
    row-(f) config: 8 frames, 2 per process and step -> 2 iterations. (One run covers the CLI
    and the distributed path: z, instance ids and descriptors gathered over ranks, and the
    instance-discrimination checkpoint hook.) ~40 s on 2 loaded cores: two processes start."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    work = tmp_path / 'work'
    log = _run(['bash', 'tools/dist_train.sh', vox_cfg, '2', '--work-dir', str(work),
                '--cfg-options', 'train_dataloader.batch_size=2'],
               env=dict(PYTHON=sys.executable, PORT=str(port)))
    assert re.search(r'world_size: 2|Distributed launcher: pytorch', log)
    l1 = [float(m) for m in re.findall(r'loss_l1: ([0-9.]+)', log)]
    assert len(l1) == 2 and all(math.isfinite(v) and v > 0 for v in l1)
    assert re.search(r'loss_fn: [0-9.]+', log) and 'num_hardneg' in log
    assert re.search(r'acc_inst: [0-9.]+', log)
    assert 'maskfn_no_landmarks: 0.0000' in log
    # below 60 % top-1 the gate stays closed: only the last epoch is saved
    assert re.search(r'epoch 1: instance-discrimination top-1 [0-9.]+ \(checkpoint gate closed',
                     log)
    ckpt = load_checkpoint_file(str(work / 'epoch_1.pth'))
    assert 'backbone.conv1.weight' in ckpt['state_dict']
    assert 'target_generator.net.conv1.weight' in ckpt['state_dict']
    assert ckpt['meta']['iter'] == 2
