# Copyright (c) mmfer contributors. All rights reserved.
"""SSLFER's loss against independent, loop-based InfoNCE / Eq. 2 computations."""
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

from mmfer.models.algorithms.sslfer import SSLFER, EyeMouthDescriptor
from mmfer.models.losses import info_nce
from mmfer.utils import load_checkpoint_file

TAU = 0.07


class _Ident(nn.Module):
    """'Backbone' returning the (N, D, 1, 1) input as a 1-tuple: z = normalise(input)."""

    def forward(self, x):
        return (x, )


class _Flat(nn.Module):

    def forward(self, x):
        return (x[0].flatten(1), )


class _FixedDescriptor(nn.Module):
    """Descriptor returning given vectors (looked up by the sample's first input value)."""

    def __init__(self, desc):
        super().__init__()
        self.desc = desc

    def forward(self, imgs, kpts):
        return F.normalize(self.desc, dim=1)


def _model(**kw):
    return SSLFER(backbone=_Ident(), neck=_Flat(), temperature=TAU, **kw)


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


def test_info_nce_function_matches_loop():
    torch.manual_seed(0)
    sim = torch.randn(5, 7).double()
    pos = torch.rand(5, 7) < 0.3
    neg = ~pos & (torch.rand(5, 7) < 0.7)
    pos[0] = False  # a row without positives is ignored
    expected = []
    for r in range(5):
        ps = pos[r].nonzero().flatten().tolist()
        if not ps:
            continue
        ns = neg[r].nonzero().flatten().tolist()
        vals = []
        for p in ps:
            num = math.exp(sim[r, p] / TAU)
            vals.append(-math.log(num / (num + sum(math.exp(sim[r, c] / TAU) for c in ns))))
        expected.append(sum(vals) / len(vals))
    got = info_nce(sim, pos, neg, TAU)
    assert got.item() == pytest.approx(sum(expected) / len(expected), rel=1e-9)
    with pytest.raises(ValueError, match='both a positive and a negative'):
        info_nce(sim, pos, pos, TAU)


def test_plain_sslfer_equals_naive_ntxent_and_mmpretrain_simclr():
    torch.manual_seed(1)
    n, d = 6, 16
    views = [torch.randn(n, d, 1, 1, dtype=torch.float64) for _ in range(2)]
    model = _model()
    losses = model.loss(views, _samples(n, ['anchor', 'positive'], kpts=False))
    assert set(losses) == {'loss_l1'}

    z = F.normalize(torch.cat(views).flatten(1), dim=1)
    rows = []
    for r in range(2 * n):
        p = (r + n) % (2 * n)
        rows.append(_naive_term(z, r, [p], [c for c in range(2 * n) if c not in (r, p)]))
    assert losses['loss_l1'].item() == pytest.approx(sum(rows) / len(rows), rel=1e-9)

    # mmpretrain's SimCLR (ContrastiveHead + CE, τ=0.07) on the same embeddings
    ref = SimCLR(backbone=_Ident(), neck=_Flat(),
                 head=dict(type='ContrastiveHead', loss=dict(type='mmpretrain.CrossEntropyLoss'),
                           temperature=TAU))
    ref_loss = ref.loss([v for v in views], [DataSample() for _ in range(n)])['loss']
    assert losses['loss_l1'].item() == pytest.approx(ref_loss.item(), rel=1e-9)


def test_hardneg_rows_are_extra_negatives_and_invalid_ones_dropped():
    torch.manual_seed(2)
    n, d = 5, 8
    views = [torch.randn(n, d, 1, 1, dtype=torch.float64) for _ in range(3)]
    valid = [True, False, True, True, False]
    model = _model(use_hardneg=True)
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
        _model().loss(views, _samples(n, ['anchor', 'positive', 'hardneg'], valid, False))


def test_hardneg_with_its_own_positive_is_a_full_instance():
    torch.manual_seed(3)
    n, d = 4, 8
    views = [torch.randn(n, d, 1, 1, dtype=torch.float64) for _ in range(4)]
    roles = ['anchor', 'positive', 'hardneg', 'hardneg_positive']
    losses = _model(use_hardneg=True).loss(views, _samples(n, roles, [True] * n, False))
    z = F.normalize(torch.cat(views).flatten(1), dim=1)
    inst = [i for i in range(n)] * 2 + [n + i for i in range(n)] * 2
    rows = []
    for r in range(4 * n):
        p = [c for c in range(4 * n) if c != r and inst[c] == inst[r]]
        rows.append(_naive_term(z, r, p, [c for c in range(4 * n) if inst[c] != inst[r]]))
    assert losses['loss_l1'].item() == pytest.approx(sum(rows) / len(rows), rel=1e-9)
    assert losses['num_hardneg'].item() == n


@pytest.mark.parametrize('num_fn', [1, 2])
def test_maskfn_equals_eq2_computed_independently(num_fn):
    torch.manual_seed(4)
    n, d = 6, 8
    views = [torch.randn(n, d, 1, 1, dtype=torch.float64) for _ in range(3)]
    desc = torch.randn(n, 10, dtype=torch.float64)
    model = _model(use_hardneg=True, use_maskfn=True, allow_random_descriptor=True,
                   num_false_negatives=num_fn,
                   descriptor_cfg=dict(eye_size=(8, 8), mouth_size=(8, 8)))
    model.descriptor = _FixedDescriptor(desc)
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


def test_maskfn_refuses_random_descriptor_and_loads_torchvision_weights(tmp_path):
    with pytest.raises(ValueError, match='allow_random_descriptor'):
        _model(use_maskfn=True)
    with pytest.raises(FileNotFoundError, match='does_not_exist.pth'):
        _model(use_maskfn=True, descriptor_checkpoint=str(tmp_path / 'does_not_exist.pth'))
    with pytest.warns(UserWarning, match='RANDOMLY INITIALISED'):
        _model(use_maskfn=True, allow_random_descriptor=True)

    import torchvision
    ref = torchvision.models.resnet18(weights=None)
    ckpt = tmp_path / 'resnet18.pth'
    torch.save(ref.state_dict(), ckpt)
    desc = EyeMouthDescriptor(checkpoint=str(ckpt), eye_size=(16, 32), mouth_size=(16, 32))
    assert torch.equal(desc.net.conv1.weight, ref.conv1.weight)
    assert not any(p.requires_grad for p in desc.parameters())
    desc.train()
    assert not desc.net.training  # frozen BN statistics
    imgs = torch.randn(3, 3, 64, 64)
    kpts = torch.rand(3, 68, 2) * 40 + 10
    out = desc(imgs, kpts)
    assert out.shape == (3, 1024)
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)

    bad = tmp_path / 'bad.pth'
    torch.save({'conv1.weight': ref.conv1.weight}, bad)
    with pytest.raises(ValueError, match='not a torchvision resnet18'):
        EyeMouthDescriptor(checkpoint=str(bad))


def test_maskfn_needs_keypoints():
    n = 4
    model = _model(use_maskfn=True, allow_random_descriptor=True,
                   descriptor_cfg=dict(eye_size=(8, 8), mouth_size=(8, 8)))
    views = [torch.randn(n, 3, 16, 16) for _ in range(2)]
    with pytest.raises(KeyError, match="no data sample of the batch has 'gt_keypoints'"):
        model.loss(views, _samples(n, ['anchor', 'positive'], kpts=False))


def test_real_backbone_gradients_and_frozen_descriptor():
    from mmfer.registry import MODELS
    model = MODELS.build(dict(
        type='SSLFER',
        backbone=dict(type='ResNet', depth=18, norm_cfg=dict(type='BN')),
        neck=dict(type='NonLinearNeck', in_channels=512, hid_channels=32, out_channels=128,
                  num_layers=2, with_avg_pool=True, norm_cfg=dict(type='BN1d')),
        use_hardneg=True, use_maskfn=True, allow_random_descriptor=True,
        descriptor_cfg=dict(eye_size=(16, 16), mouth_size=(16, 16))))
    n = 4
    views = [torch.randn(n, 3, 32, 32) for _ in range(3)]
    losses = model.loss(views, _samples(n, ['anchor', 'positive', 'hardneg'], [True] * n))
    assert model.neck.fc1.out_features == 128
    _total(losses).backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.descriptor.parameters())


# ----------------------------------------------------------------------------- downstream
def test_balanced_softmax_loss_matches_formula():
    from mmfer.registry import MODELS
    torch.manual_seed(5)
    counts = [100, 10, 1, 50]
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=counts))
    logits = torch.randn(6, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 2, 0])
    exp = 0.
    for i in range(6):
        z = [float(logits[i, c]) + math.log(counts[c]) for c in range(4)]
        exp += -(z[int(labels[i])] - math.log(sum(math.exp(v) for v in z)))
    assert loss(logits, labels).item() == pytest.approx(exp / 6, rel=1e-9)
    soft = F.one_hot(labels, 4).double()
    assert loss(logits, soft).item() == pytest.approx(exp / 6, rel=1e-9)
    uniform = MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=[7] * 4))
    assert uniform(logits, labels).item() == pytest.approx(
        F.cross_entropy(logits, labels).item(), rel=1e-9)
    with pytest.raises(ValueError, match='class_counts'):
        MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=[3, 0]))
    with pytest.raises(ValueError, match='5 logits but 4 class_counts'):
        loss(torch.randn(2, 5), torch.tensor([0, 1]))


def test_mlp_heads():
    from mmfer.registry import MODELS
    head = MODELS.build(dict(type='MLPClsHead', num_classes=8, in_channels=16, hid_channels=32,
                             loss=dict(type='BalancedSoftmaxLoss', class_counts=[1] * 8)))
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 32), (32, 32), (32, 8)]
    feats = (torch.randn(4, 16, 3, 3), )  # pooled inside when no neck
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    losses = head.loss(feats, samples)
    assert losses['loss'].item() > 0
    preds = head.predict(feats, samples)
    assert preds[0].pred_score.shape == (8, )
    with pytest.raises(ValueError, match='in_channels=16'):
        head((torch.randn(2, 15), ))

    va = MODELS.build(dict(type='MLPVAHead', in_channels=16, hid_channels=8))
    feats = (torch.randn(6, 16), )
    samples = []
    for i in range(6):
        ds = DataSample()
        ds.set_field(torch.tensor([0.1 * i, -0.1 * i] if i != 5 else [-2., -2.]), 'gt_va')
        samples.append(ds)
    losses = va.loss(feats, samples)
    pred = va(feats)
    from mmfer.models.losses import concordance_cc
    exp = 1 - concordance_cc(pred[:5], torch.stack([s.gt_va for s in samples[:5]])).mean()
    assert losses['loss_ccc'].item() == pytest.approx(exp.item(), rel=1e-5)
    out = va.predict(feats, samples)
    assert out[0].pred_va.shape == (2, ) and out[0].pred_va.abs().max() <= 1


# ----------------------------------------------------------------------------- end to end
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
ROW_F = os.path.join(REPO, 'configs/sslfer/'
                     'sslfer_r18_4xb64-100e_voxceleb_f-timeaug-faceswap-hardneg-maskfn.py')


@pytest.fixture(scope='module')
def vox_cfg(tmp_path_factory):
    """Synthetic VoxCeleb tree (2 identities x 2 videos x 10 frames at 2 fps = 5 s) and a tiny
    config inheriting the Table-1 row (f) config (TimeAug + FaceSwap + HardNeg + MaskFN)."""
    from mmfer.datasets.synthetic import write_voxceleb
    root = tmp_path_factory.mktemp('vox')
    write_voxceleb(str(root / 'data'), num_identities=2, videos_per_identity=2,
                   frames_per_video=10, image_size=48, seed=0)
    cfg = root / 'tiny_sslfer.py'
    cfg.write_text(f'''
_base_ = [{ROW_F!r}]
model = dict(descriptor_checkpoint=None, allow_random_descriptor=True,
             descriptor_cfg=dict(eye_size=(16, 32), mouth_size=(16, 32)),
             neck=dict(hid_channels=64))
view = [dict(type='FaceResize', scale=40), dict(type='RandomCrop', crop_size=32),
        dict(type='RandomFlip', prob=0.5)]
train_pipeline = [
    dict(type='LoadFaceImage'),
    dict(type='TimeAug', max_offset=1.0),
    dict(type='FaceSwap', prob=0.5),
    dict(type='HardNeg', min_offset=3.0),
    dict(type='ApplyToViews', views=('anchor', ),
         keys=('img', 'img_path', 'img_shape', 'ori_shape', 'gt_keypoints'),
         transforms=[dict(type='FaceResize', scale=32), dict(type='FaceRandomFlip')]),
    dict(type='ApplyToViews', transforms=view, views=('positive', 'hardneg')),
    dict(type='PackMultiViewInputs', view_roles=('anchor', 'positive', 'hardneg'),
         data_keys=('identity', 'video', 'frame', 'hardneg_valid', 'face_swapped'),
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


def _losses(log):
    return [float(m) for m in re.findall(r'loss_l1: ([0-9.]+)', log)]


@pytest.mark.slow
def test_dist_train_two_cpu_processes(vox_cfg, tmp_path):
    """tools/dist_train.sh -> torchrun (2 CPU processes, gloo) -> tools/train.py on the tiny
    row-(f) config: 8 frames, 2 per process and step -> 2 iterations. (One run covers the CLI
    and the distributed path: z, instance ids and descriptors gathered over ranks.)"""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    work = tmp_path / 'work'
    log = _run(['bash', 'tools/dist_train.sh', vox_cfg, '2', '--work-dir', str(work),
                '--cfg-options', 'train_dataloader.batch_size=2'],
               env=dict(PYTHON=sys.executable, PORT=str(port)))
    assert re.search(r'world_size: 2|Distributed launcher: pytorch', log)
    l1 = _losses(log)
    assert len(l1) == 2 and all(math.isfinite(v) and v > 0 for v in l1)
    assert re.search(r'loss_fn: [0-9.]+', log) and 'num_hardneg' in log
    assert 'maskfn_no_landmarks: 0.0000' in log
    ckpt = load_checkpoint_file(str(work / 'epoch_1.pth'))
    assert 'backbone.conv1.weight' in ckpt['state_dict']
    assert ckpt['meta']['iter'] == 2
