# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmfer.models.losses import info_nce
from mmfer.registry import MODELS


def _head(**kw):
    return MODELS.build(dict(type='MaskedInfoNCEHead',
                             loss=dict(type='InfoNCELoss', temperature=0.1), **kw))


def test_losses_are_eq2_terms():
    torch.manual_seed(0)
    z = F.normalize(torch.randn(6, 4, dtype=torch.float64), dim=1)
    inst = torch.tensor([0, 1, 2, 0, 1, 2])
    pos = (inst[:, None] == inst[None]) & ~torch.eye(6, dtype=torch.bool)
    neg = inst[:, None] != inst[None]
    fn = torch.zeros(6, 6, dtype=torch.bool)
    fn[0, 1] = fn[3, 4] = True
    neg_fn = neg & ~fn
    losses = _head(fn_loss_weight=0.25).loss(z, pos, neg_fn, fn)
    sim = z @ z.t()
    assert losses['loss_l1'].item() == pytest.approx(
        info_nce(sim, pos, neg_fn, 0.1).item(), rel=1e-12)
    assert losses['loss_fn'].item() == pytest.approx(
        0.25 * info_nce(sim, fn, neg_fn, 0.1).item(), rel=1e-12)
    assert 'loss_fn' not in _head().loss(z, pos, neg)


def test_instance_accuracy_by_hand():
    # unit vectors at 0, 26, 45 and 90 degrees; rows 0/1 and rows 2/3 are positive pairs.
    # Rows 1 and 2 are closer to each other (19 deg) than to their positives: 2 of 4 right
    z = torch.tensor([[1., 0.], [0.9, 0.44], [0.7, 0.7], [0., 1.]])
    z = F.normalize(z, dim=1)
    inst = torch.tensor([0, 0, 1, 1])
    pos = (inst[:, None] == inst[None]) & ~torch.eye(4, dtype=torch.bool)
    neg = inst[:, None] != inst[None]
    sim = z @ z.t()
    right = [bool(sim[r, p] > sim[r][neg[r]].max()) for r in range(4) for p in
             pos[r].nonzero().flatten().tolist()]
    assert right == [True, False, False, True]
    acc = _head().loss(z, pos, neg)['acc_inst']
    assert acc.item() == pytest.approx(100 * sum(right) / len(right))
    assert not acc.requires_grad


def test_shape_check():
    with pytest.raises(ValueError, match=r'\(R, R\)'):
        _head().loss(torch.randn(4, 3), torch.zeros(3, 3, dtype=torch.bool),
                     torch.zeros(3, 3, dtype=torch.bool))
