# Copyright (c) mmfer contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.evaluator import Evaluator

from mmfer.registry import DATASETS, METRICS, MODELS


def test_fec_triplet_loss_formula():
    loss = MODELS.build(dict(type='FECTripletLoss'))
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[0.1, 0.0], [1.0, 0.0]])
    n = torch.tensor([[1.0, 0.0], [0.2, 0.0]])
    # row 0 (one_class, m=0.1): d_ap=.01, d_an=1, d_pn=.81 -> 0 + 0
    # row 1 (two_class, m=0.2): d_ap=1, d_an=.04, d_pn=.64 -> 1.16 + 0.56
    got = loss(a, p, n, ['one_class', 'two_class'])
    assert got.item() == pytest.approx((0 + 1.16 + 0.56) / 2, abs=1e-6)
    with pytest.raises(ValueError, match='shapes differ'):
        loss(a, p, n[:1])


def test_fec_embedder_end_to_end(tmp_path, repo_root):
    # three tiny FEC triplets on disk
    (tmp_path / 'images').mkdir()
    (tmp_path / 'annotations').mkdir()
    rng = np.random.default_rng(0)
    rows = ['image1,image2,image3,odd_one_out,triplet_type']
    for t in range(4):
        names = [f'{t}_{j}.png' for j in range(3)]
        for n in names:
            cv2.imwrite(str(tmp_path / 'images' / n), rng.integers(0, 255, (24, 24, 3),
                                                                    dtype=np.uint8))
        rows.append(','.join(names + [str(t % 3 + 1), 'ONE_CLASS_TRIPLET']))
    (tmp_path / 'annotations' / 'train.csv').write_text('\n'.join(rows) + '\n')

    cfg = Config.fromfile(osp.join(
        repo_root, 'configs/contrawarp/benchmarks/resnet18_1xb32-triplet-coslr-20e_fec.py'))
    model = MODELS.build(cfg.model)
    pipeline = [dict(type='ApplyToList', scatter_key='img_path', collate_keys=['img'],
                     transforms=[dict(type='LoadFaceImage'), dict(type='RandomFlip', prob=0.5)]),
                dict(type='PackInputs', meta_keys=['triplet_type'])]
    ds = DATASETS.build(dict(type='FEC', data_root=str(tmp_path), split='train',
                             pipeline=pipeline))
    batch = default_collate([ds[i] for i in range(4)])
    data = model.data_preprocessor(batch, training=True)
    assert len(data['inputs']) == 3 and data['inputs'][0].shape == (4, 3, 24, 24)
    losses = model(**data, mode='loss')
    assert losses['loss'].ndim == 0 and losses['loss'].item() > 0
    # the loss is FECTripletLoss on (non-odd, non-odd, odd) embeddings; extract_feat (mode
    # 'tensor') gives the unit embedding of single images
    model.eval()
    with torch.no_grad():
        emb = torch.stack([model(x, mode='tensor') for x in data['inputs']], 1)  # (N, 3, D)
        torch.testing.assert_close(emb[:, 0], model.extract_feat(data['inputs'][0]))
        feats = model.neck(model.backbone(data['inputs'][0]))[-1]
        torch.testing.assert_close(emb[:, 0], torch.nn.functional.normalize(
            model.head.proj(feats), dim=1))
    assert emb.shape == (4, 3, 16)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(4, 3))
    odd = [t % 3 for t in range(4)]
    others = [[j for j in range(3) if j != o] for o in odd]
    ref = MODELS.build(dict(type='FECTripletLoss'))(
        emb[range(4), [o[0] for o in others]], emb[range(4), [o[1] for o in others]],
        emb[range(4), odd], ['one_class'] * 4)
    with torch.no_grad():
        torch.testing.assert_close(model(**data, mode='loss')['loss'], ref)
        preds = model(**data, mode='predict')
    evaluator = Evaluator(METRICS.build(dict(type='TripletAccuracy')))
    evaluator.process(preds)
    res = evaluator.evaluate(4)
    assert 0 <= res['fec/accuracy_l2'] <= 100 and 'fec/accuracy_cosine_one_class' in res
