# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS


def _sample(**fields):
    s = DataSample()
    for k, v in fields.items():
        s.set_field(v, k)
    return s


def test_masked_multilabel_head_ignores_unannotated():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='MaskedMultiLabelLinearClsHead', num_classes=4,
                             in_channels=8))
    feats = (torch.randn(3, 8, requires_grad=True), )
    gt = torch.tensor([[1., 0., 1., 0.], [0., 0., 0., 1.], [1., 1., 0., 0.]])
    mask = torch.tensor([[1., 1., 1., 1.], [1., 0., 1., 1.], [0., 0., 1., 0.]])
    samples = [_sample(gt_score=g, au_mask=m) for g, m in zip(gt, mask)]
    loss = head.loss(feats, samples)['loss']
    logits = head.fc(feats[0])
    bce = F.binary_cross_entropy_with_logits(logits, gt, reduction='none')
    assert loss.item() == pytest.approx(((bce * mask).sum() / mask.sum()).item(), abs=1e-6)
    # a masked entry gets no gradient, whatever its target
    logits_leaf = logits.detach().requires_grad_(True)
    l2 = (F.binary_cross_entropy_with_logits(logits_leaf, gt, reduction='none') * mask).sum()
    l2.backward()
    assert torch.all(logits_leaf.grad[mask == 0] == 0)
    gt_flipped = gt.clone()
    gt_flipped[mask == 0] = 1 - gt_flipped[mask == 0]
    samples2 = [_sample(gt_score=g, au_mask=m) for g, m in zip(gt_flipped, mask)]
    assert head.loss(feats, samples2)['loss'].item() == pytest.approx(loss.item(), abs=1e-6)
    preds = head.predict(feats)
    assert preds[0].pred_score.shape == (4, )
