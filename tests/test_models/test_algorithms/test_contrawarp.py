# Copyright (c) mmfer contributors. All rights reserved.
"""ContraWarpBYOL / SimSiam / MoCoV2 on hand-built batches in the pipeline's format."""
import copy
import math

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
        head=dict(type='LatentPredictHead', loss=dict(type='CosineSimilarityLoss'),
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
        head=dict(type='LatentPredictHead', loss=dict(type='CosineSimilarityLoss'),
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


def _batch(n=4, has=(True, True, False, True), heatmaps=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    views = [torch.randn(n, 3, H, H, generator=g) for _ in range(3)]
    samples = []
    for i in range(n):
        ds = DataSample()
        kpts = 4 + torch.rand(2, K, 2, generator=g) * (H - 8)
        w = torch.where(torch.rand(2, K, generator=g) > 0.5, 1.0, 0.1)
        if not has[i]:
            w = torch.zeros(2, K)
        ds.set_field(kpts, 'keypoints')
        ds.set_field(w, 'keypoint_weights')
        ds.set_field(bool(has[i]), 'has_landmarks', field_type='metainfo')
        if heatmaps is not None:
            ds.set_field(heatmaps[i], 'heatmaps')
        samples.append(ds)
    return views, samples


@pytest.fixture(autouse=True)
def _max_iters():
    MessageHub.get_current_instance().update_info('max_iters', 100)


@pytest.mark.parametrize('cfg_fn, keys', [
    (_byol, {'loss_cont12', 'loss_cont13', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13',
             'momentum'}),
    (_simsiam, {'loss_cont12', 'loss_cont13', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13'}),
    (_mocov2, {'loss_cont', 'loss_lm1', 'loss_lm3', 'sim12', 'sim13', 'momentum'}),
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


def test_byol_matches_contrawarp_loss_and_momentum_schedule():
    model = _build(_byol(landmark_head=None))
    views, samples = _batch()
    losses = model.loss(views, samples)
    assert 'loss_lm1' not in losses
    # recompute: online predictions vs target projections (target = copy after 1st update)
    with torch.no_grad():
        p = [model.head.predictor(model.neck(model.backbone(x)))[0] for x in views]
        z = [model.target_net(x)[0] for x in views]
    ref = model.contrawarp_loss(*p, *z)
    for k in ('loss_cont12', 'loss_cont13', 'sim12', 'sim13'):
        assert float(losses[k]) == pytest.approx(float(ref[k]), abs=1e-5), k
    # tau = 1 - m, m cosine-annealed from base_momentum=0.004 to 0 over max_iters=100
    assert float(losses['momentum']) == pytest.approx(0.996)
    model.loss(views, samples)  # update with steps=1
    tau = float(model.loss(views, samples)['momentum'])  # update with steps=2
    assert tau == pytest.approx(1 - 0.004 * (math.cos(2 * math.pi / 100) + 1) / 2, abs=1e-7)
    assert 0.996 < tau < 1.0


def test_landmark_branch_targets_weights_and_heatmap_paths():
    model = _build(_simsiam())
    head = model.landmark_head
    views, samples = _batch(has=(False, False, False, False))
    losses = model.loss(views, samples)
    # no landmarks anywhere: exactly zero, but still connected to the head (DDP-safe)
    assert float(losses['loss_lm1']) == 0 and float(losses['loss_lm3']) == 0
    assert losses['loss_lm1'].requires_grad

    # keypoints-only samples and the same targets given as pipeline heatmaps agree exactly
    views, samples = _batch(seed=3)
    hms = []
    for ds in samples:
        enc = [head.encode_heatmaps(ds.keypoints[v][None], ds.keypoint_weights[v][None],
                                    (H, H), (8, 8))[0][0] for v in range(2)]
        hms.append(torch.stack(enc))
    _, with_hm = _batch(seed=3, heatmaps=hms)
    a = model.loss(views, samples)
    b = model.loss(views, with_hm)
    assert float(a['loss_lm1']) > 0
    assert float(a['loss_lm1']) == pytest.approx(float(b['loss_lm1']), rel=1e-6)
    assert float(a['loss_lm3']) == pytest.approx(float(b['loss_lm3']), rel=1e-6)

    # the loss is lambda * KeypointMSELoss(pred, target, weights) on x1's backbone map
    with torch.no_grad():
        feat1 = model.backbone(views[0])
        pred = head.forward(feat1)
        w = torch.stack([ds.keypoint_weights[0] for ds in samples])
        hm = torch.stack([h[0] for h in hms])
        ref = ((pred - hm)**2 * w[..., None, None]).mean()
    assert model.landmark_loss_weight == 100.0
    assert float(a['loss_lm1']) == pytest.approx(100.0 * float(ref), rel=1e-4)

    # the unmoved/moved weights matter: scaling them scales the loss
    _, scaled = _batch(seed=3)
    for ds in scaled:
        ds.set_field(ds.keypoint_weights * 0.5, 'keypoint_weights')
    c = model.loss(views, scaled)
    assert float(c['loss_lm1']) == pytest.approx(0.5 * float(a['loss_lm1']), rel=1e-5)


def test_encode_heatmaps_matches_mmpose_codec():
    from mmpose.codecs import MSRAHeatmap
    model = _build(_simsiam())
    kpts = torch.tensor([[[10.3, 12.7], [200.0, 5.0]]])  # 2nd landmark outside the image
    hm, w = model.landmark_head.encode_heatmaps(kpts, torch.tensor([[1.0, 0.1]]),
                                                (64, 64), (16, 16))
    enc = MSRAHeatmap(input_size=(64, 64), heatmap_size=(16, 16), sigma=1.5).encode(
        kpts.numpy(), None)
    assert torch.allclose(hm[0], torch.from_numpy(enc['heatmaps']))
    assert w.tolist() == [[1.0, 0.0]]  # outside: dropped by the codec
    assert hm[0, 0].max() == 1.0 and hm[0, 1].max() == 0.0


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
    hms = [torch.zeros(2, K, 56, 56) for _ in range(4)]
    _, wrong = _batch(heatmaps=hms)
    with pytest.raises(ValueError, match=r'target heatmaps are \(4, 68, 56, 56\).*predicts'):
        model.loss(views, wrong)
    # ... which the keypoint path avoids
    model_kp = _build(_byol(use_pipeline_heatmaps=False))
    assert torch.isfinite(model_kp.loss(views, wrong)['loss_lm1'])


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
    assert float(losses['momentum']) == pytest.approx(0.99)
    # making x3 identical to x2 makes the extra negative as hard as the positive
    hard = model.loss([views[0], views[1], views[1]], samples)
    assert float(hard['loss_cont']) > float(losses['loss_cont'])
