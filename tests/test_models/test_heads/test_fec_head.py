# Copyright (c) mmfer contributors. All rights reserved.
import pytest
import torch
from mmpretrain.structures import DataSample

from mmfer.registry import MODELS


def test_fec_head_embeds_and_owns_the_triplet_loss():
    head = MODELS.build(dict(type='FECHead', in_channels=6, embed_dim=4))
    feats = torch.randn(5, 6)
    emb = head((feats, ))
    assert emb.shape == (5, 4)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(5))
    trip = torch.nn.functional.normalize(torch.randn(2, 3, 4), dim=-1)
    samples = [DataSample(metainfo=dict(triplet_type='one_class')).set_gt_label(0),
               DataSample(metainfo=dict(triplet_type='two_class')).set_gt_label(2)]
    got = head.loss(trip, samples)['loss']
    # odd 0 -> (anchor, positive) = (1, 2); odd 2 -> (0, 1); margins 0.1 / 0.2
    loss = MODELS.build(dict(type='FECTripletLoss'))
    ref = loss(trip[[0, 1], [1, 0]], trip[[0, 1], [2, 1]], trip[[0, 1], [0, 2]],
               ['one_class', 'two_class'])
    torch.testing.assert_close(got, ref)
    with pytest.raises(ValueError, match=r'expects \(N, 3, D\) triplet embeddings'):
        head.loss(trip[:, :2], samples)
