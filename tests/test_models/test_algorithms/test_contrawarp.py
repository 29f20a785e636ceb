# Copyright (c) mmfer contributors. All rights reserved.
"""ContraWarpBYOL / SimSiam / MoCoV2 on hand-built batches in the pipeline's format."""
import copy
import inspect

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS

H = 32  # ResNet-18: 1x1 feature map -> 8x8 heatmaps with 3 deconvs
K = 68
BN1D = dict(type='BN1d')


def _backbone():
    return dict(type='ResNet', depth=18, norm_cfg=dict(type='BN'))


def _landmark_head():
    return dict(type='LandmarkHeatmapHead', in_channels=512, deconv_out_channels=(16, 16, 16))


def _byol(**kw):
    cfg = dict(
        type='ContraWarpBYOL', backbone=_backbone(),
        neck=dict(type='NonLinearNeck', in_channels=512, hid_channels=32, out_channels=16,
                  with_bias=True, with_last_bn=False, norm_cfg=BN1D),
        head=dict(type='ContraWarpHead',
                  predictor=dict(type='NonLinearNeck', in_channels=16, hid_channels=32,
                                 out_channels=16, with_bias=True, with_last_bn=False,
                                 with_avg_pool=False, norm_cfg=BN1D)),
        landmark_head=_landmark_head())
    cfg.update(kw)
    return cfg


def _simsiam(**kw):
    cfg = dict(
        type='ContraWarpSimSiam', backbone=_backbone(),
        neck=dict(type='NonLinearNeck', in_channels=512, hid_channels=32, out_channels=16,
                  num_layers=3, with_last_bn_affine=False, norm_cfg=BN1D),
        head=dict(type='ContraWarpHead',
                  predictor=dict(type='NonLinearNeck', in_channels=16, hid_channels=8,
                                 out_channels=16, with_avg_pool=False, with_last_bn=False,
                                 with_last_bias=True, norm_cfg=BN1D)),
        landmark_head=_landmark_head())
    cfg.update(kw)
    return cfg


def _mocov2(**kw):
    cfg = dict(
        type='ContraWarpMoCoV2', backbone=_backbone(), queue_len=16, feat_dim=16,
        momentum=0.01,
        neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=32, out_channels=16),
        head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2),
        landmark_head=_landmark_head())
    cfg.update(kw)
    return cfg


def _build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    return model


def _batch(n=4, has=(True, True, False, True), seed=0, hm_size=8):
    """Views and samples as PackContraWarpInputs gives them: pipeline-encoded heatmaps
    (random here) and weights 1.0 / 0.1 (all zeros without landmarks)."""
    g = torch.Generator().manual_seed(seed)
    views = [torch.randn(n, 3, H, H, generator=g) for _ in range(3)]
    samples = []
    for i in range(n):
        ds = DataSample()
        kpts = 4 + torch.rand(2, K, 2, generator=g) * (H - 8)
        w = torch.where(torch.rand(2, K, generator=g) > 0.5, 1.0, 0.1)
        hm = torch.rand(2, K, hm_size, hm_size, generator=g)
        if not has[i]:
            w, hm = torch.zeros(2, K), torch.zeros(2, K, hm_size, hm_size)
        ds.set_field(kpts, 'keypoints')
        ds.set_field(w, 'keypoint_weights')
        ds.set_field(hm, 'heatmaps')
        ds.set_field(bool(has[i]), 'has_landmarks', field_type='metainfo')
        samples.append(ds)
    return views, samples


@pytest.fixture(autouse=True)
def _max_iters():
    MessageHub.get_current_instance().update_info('max_iters', 100)


def test_byol_and_simsiam_define_no_init_and_take_the_mixin_arguments():
    from mmfer.models import ContraWarpBYOL, ContraWarpMoCoV2, ContraWarpSimSiam
    from mmfer.models.algorithms.contrawarp_mixin import ContraWarpMixin
    for cls in (ContraWarpBYOL, ContraWarpSimSiam, ContraWarpMoCoV2):
        assert '__init__' not in vars(cls), cls  # as mmpretrain's SimSiam
        assert cls.__mro__[1] is ContraWarpMixin
    assert set(inspect.signature(ContraWarpMixin.__init__).parameters) == {
        'self', 'landmark_head', 'landmark_loss_weight', 'kwargs'}
    model = _build(_byol(landmark_loss_weight=7.0, base_momentum=0.02))
    assert model.landmark_loss_weight == 7.0 and model.target_net.momentum == 0.02
    assert type(model.head).__name__ == 'ContraWarpHead'
    assert type(model.head.loss_module).__name__ == 'ContraWarpLoss'
    assert model.head.loss_module.target_similarity == 0.6
    assert not _build(_simsiam(landmark_head=None)).with_landmark_head
    with pytest.raises(TypeError, match='contrawarp_loss'):
        MODELS.build(_byol(contrawarp_loss=dict(type='ContraWarpLoss')))


@pytest.mark.parametrize('cfg_fn, keys', [
    (_byol, {'loss_cont12', 'loss_cont13', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13'}),
    (_simsiam, {'loss_cont12', 'loss_cont13', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13'}),
    (_mocov2, {'loss_cont', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13'}),
])
def test_loss_keys_gradients_and_extract_feat(cfg_fn, keys):
    model = _build(cfg_fn())
    views, samples = _batch()
    losses = model(views, samples, mode='loss')
    assert set(losses) == keys
    for k, v in losses.items():
        assert v.shape == () and torch.isfinite(v), k
        assert v.requires_grad == k.startswith('loss'), k
    total, log_vars = model.parse_losses(losses)
    assert set(log_vars) == keys | {'loss'}
    assert total.item() == pytest.approx(sum(v.item() for k, v in losses.items()
                                             if 'loss' in k), rel=1e-5)
    total.backward()
    for name, module in (('backbone', model.backbone), ('neck', model.neck),
                         ('landmark_head', model.landmark_head)):
        grads = [p.grad for p in module.parameters() if p.requires_grad]
        assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0, \
            name
    # momentum networks get no gradient
    for ema in ('target_net', 'encoder_k'):
        if hasattr(model, ema):
            assert all(p.grad is None for p in getattr(model, ema).parameters())
    model.eval()
    feats = model(views[0], mode='tensor')  # extract_feat = backbone features
    assert isinstance(feats, tuple) and feats[-1].shape == (4, 512, 1, 1)
    assert torch.allclose(feats[-1], model.backbone(views[0])[-1])


@pytest.mark.parametrize('cfg_fn', [_byol, _simsiam])
def test_loss_is_the_heads_contrawarp_loss_on_predictions_and_targets(cfg_fn):
    """BYOL: online predictions vs the target network's projections; SimSiam: vs the online
    projections themselves (stop-gradient), both through ContraWarpHead -> ContraWarpLoss."""
    model = _build(cfg_fn(landmark_head=None))
    views, samples = _batch()
    losses = model.loss(views, samples)
    assert 'loss_lm1' not in losses
    with torch.no_grad():
        z = [model.neck(model.backbone(x))[0] for x in views]
        p = [model.head.predictor([zi])[0] for zi in z]
        if hasattr(model, 'target_net'):  # the copy made by the first update
            z = [model.target_net(x)[0] for x in views]
    ref = model.head.loss_module(*p, *z)
    for k in ('loss_cont12', 'loss_cont13', 'sim12', 'sim13'):
        assert float(losses[k]) == pytest.approx(float(ref[k]), abs=1e-5), k
    # Eqs. (2)-(4) by hand on the same predictions and targets
    pn, zn = [F.normalize(t, dim=1) for t in p], [F.normalize(t, dim=1) for t in z]
    sim12 = 0.5 * ((pn[0] * zn[1]).sum(1) + (pn[1] * zn[0]).sum(1))
    sim13 = 0.5 * ((pn[0] * zn[2]).sum(1) + (pn[2] * zn[0]).sum(1))
    assert float(losses['loss_cont12']) == pytest.approx(float(-sim12.mean()), abs=1e-5)
    assert float(losses['loss_cont13']) == pytest.approx(
        float(torch.clamp(sim13, min=0.6).mean()), abs=1e-5)


def test_landmark_branch_reads_the_pipeline_targets_of_x1_and_x3():
    model = _build(_simsiam())
    head = model.landmark_head
    views, samples = _batch(has=(False, False, False, False))
    losses = model.loss(views, samples)
    # no landmarks anywhere: exactly zero, but still connected to the head (DDP-safe)
    assert float(losses['loss_lm1']) == 0 and float(losses['loss_lm3']) == 0
    assert losses['loss_lm1'].requires_grad

    # the loss is lambda * Eq. (5) on x1's / x3's backbone maps and targets 0 / 1
    views, samples = _batch(seed=3)
    a = model.loss(views, samples)
    with torch.no_grad():
        for name, x, v in (('loss_lm1', views[0], 0), ('loss_lm3', views[2], 1)):
            pred = head.forward(model.backbone(x))
            w = torch.stack([ds.keypoint_weights[v] for ds in samples])
            hm = torch.stack([ds.heatmaps[v] for ds in samples])
            ref = ((pred - hm)**2 * (w**2)[..., None, None]).mean()  # w², Eq. (5)
            assert float(a[name]) == pytest.approx(100.0 * float(ref), rel=1e-4), name
    assert model.landmark_loss_weight == 100.0 and head.weight_squared

    # the unmoved/moved weights matter: halving them quarters the loss (w²)
    _, scaled = _batch(seed=3)
    for ds in scaled:
        ds.set_field(ds.keypoint_weights * 0.5, 'keypoint_weights')
    c = model.loss(views, scaled)
    assert float(c['loss_lm1']) == pytest.approx(0.25 * float(a['loss_lm1']), rel=1e-5)


def test_bad_inputs_have_clear_errors():
    model = _build(_byol())
    views, samples = _batch()
    with pytest.raises(ValueError, match=r'3 views.*got 2 views'):
        model.loss(views[:2], samples)
    with pytest.raises(ValueError, match='one shape'):
        model.loss([views[0], views[1], views[2][:, :, :16]], samples)
    bad = copy.deepcopy(samples)
    del bad[1].keypoint_weights
    with pytest.raises(KeyError, match="sample 1 has no 'keypoint_weights'"):
        model.loss(views, bad)
    bad = copy.deepcopy(samples)
    del bad[2].heatmaps
    with pytest.raises(KeyError, match="sample 2 has no 'heatmaps'.*encoded by the pipeline"):
        model.loss(views, bad)
    _, wrong = _batch(hm_size=56)
    with pytest.raises(ValueError, match=r'target heatmaps are \(4, 68, 56, 56\).*predicts'):
        model.loss(views, wrong)
    with pytest.raises(ValueError, match=r'one data sample per image \(4\), got 3'):
        model.loss(views, samples[:3])


def test_mocov2_warped_key_is_an_extra_full_negative():
    model = _build(_mocov2(landmark_head=None))
    views, samples = _batch()
    queue_before = model.queue.clone()
    losses = model.loss(views, samples)
    with torch.no_grad():
        q = F.normalize(model.neck(model.backbone(views[0]))[0], dim=1)
        k2 = F.normalize(model.encoder_k(views[1])[0], dim=1)
        k3 = F.normalize(model.encoder_k(views[2])[0], dim=1)
    logits = torch.cat([(q * k2).sum(1, keepdim=True), (q * k3).sum(1, keepdim=True),
                        q @ queue_before], dim=1) / 0.2
    ref = F.cross_entropy(logits, torch.zeros(4, dtype=torch.long))
    assert float(losses['loss_cont']) == pytest.approx(float(ref), rel=1e-4)
    assert float(losses['sim13']) == pytest.approx(float((q * k3).sum(1).mean()), abs=1e-5)
    # only k2 is enqueued
    assert torch.allclose(model.queue[:, :4].T, k2, atol=1e-5)
    assert torch.equal(model.queue[:, 4:], queue_before[:, 4:])
    assert int(model.queue_ptr) == 4
    # making x3 identical to x2 makes the extra negative as hard as the positive
    hard = model.loss([views[0], views[1], views[1]], samples)
    assert float(hard['loss_cont']) > float(losses['loss_cont'])
