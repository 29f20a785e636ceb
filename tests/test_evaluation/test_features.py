# Copyright (c) mmfer contributors. All rights reserved.
"""extract_features (the reusable extraction API) and the FeatureCache key."""
import glob
import logging
import os

import cv2
import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from mmfer.evaluation import (FeatureCache, backbone_model_cfg, dataset_files_sha256,
                              extract_features, pool_features, state_dict_sha256)
from mmfer.registry import MODELS

PRE = dict(mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True)


def _model():
    torch.manual_seed(0)
    return MODELS.build(dict(type='ImageClassifier', data_preprocessor=PRE,
                             backbone=dict(type='ResNet', depth=18, base_channels=8,
                                           out_indices=(3, ), norm_cfg=dict(type='BN')),
                             neck=dict(type='GlobalAveragePooling'), head=None))


def _images(root, n=10, size=24):
    rng = np.random.default_rng(0)
    os.makedirs(root, exist_ok=True)
    paths = []
    for i in range(n):
        paths.append(os.path.join(root, f'{i:02d}.png'))
        cv2.imwrite(paths[-1], rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    return paths


def _loader(paths, shuffle=False, meta_keys=None, **ds):
    pack = dict(type='PackInputs') if meta_keys is None else dict(type='PackInputs',
                                                                    meta_keys=meta_keys)
    dataset = dict(type='ImageListDataset', img_paths=paths, test_mode=True,
                   pipeline=[dict(type='LoadFaceImage'), pack], **ds)
    return Runner.build_dataloader(dict(batch_size=3, num_workers=0, dataset=dataset,
                                        sampler=dict(type='DefaultSampler', shuffle=shuffle),
                                        collate_fn=dict(type='default_collate')))


def _reference(model, paths):
    x = torch.from_numpy(np.stack([cv2.imread(p) for p in paths])).permute(0, 3, 1, 2)
    x = (x.flip(1).float() - 127.5) / 64.0
    with torch.no_grad():
        return pool_features(model.backbone(x))


def test_extract_features_rows_fields_and_modes(tmp_path):
    paths = _images(str(tmp_path / 'img'))
    model = _model()
    model.train()
    labels, ids = [i % 3 for i in range(10)], [f'p{i // 4}' for i in range(10)]
    out = extract_features(model, _loader(paths, labels=labels, identities=ids),
                           progress=False)
    assert model.training  # the caller's mode is restored
    model.eval()
    ref = _reference(model, paths)
    torch.testing.assert_close(out['feats'], ref, rtol=1e-5, atol=1e-5)
    assert out['feats'].dtype == torch.float32 and out['feats'].shape == (10, 64)
    assert out['gt_label'].tolist() == labels and out['identity'] == ids
    assert out['img_path'] == paths and out['sample_idx'].tolist() == list(range(10))
    # a shuffling sampler, or a pipeline without sample_idx: rows still follow the dataset
    shuffled = extract_features(model, _loader(paths, shuffle=True), progress=False)
    torch.testing.assert_close(shuffled['feats'], ref, rtol=1e-5, atol=1e-5)
    no_idx = extract_features(model, _loader(paths, shuffle=True, meta_keys=('img_path', )),
                              progress=False)
    torch.testing.assert_close(no_idx['feats'], ref, rtol=1e-5, atol=1e-5)
    assert 'identity' not in no_idx and (no_idx['gt_label'] == -1).all()


def test_extract_features_refuses_non_finite_and_incomplete(tmp_path):
    paths = _images(str(tmp_path / 'img'), n=4)
    model = _model()
    with torch.no_grad():
        model.backbone.conv1.weight.fill_(1e38)
    with pytest.raises(ValueError, match='4 of the 4 my features are NaN/inf'):
        extract_features(model, _loader(paths), desc='my features', progress=False)
    loader = _loader(paths)
    loader.batch_sampler.drop_last = True  # 4 samples, batches of 3: one is never seen
    with pytest.raises(ValueError, match='visited 3 of the 4 samples'):
        extract_features(_model(), loader, progress=False)


def test_backbone_model_cfg_from_a_pretraining_config():
    cfg = dict(model=dict(type='BYOL', backbone=dict(type='ResNet', depth=18, frozen_stages=2,
                                                      init_cfg=dict(type='Pretrained')),
                          data_preprocessor=dict(type='SelfSupDataPreprocessor',
                                                 mean=[1, 2, 3], std=[4, 5, 6],
                                                 bgr_to_rgb=True)))
    got = backbone_model_cfg(cfg)
    assert got['backbone'] == dict(type='ResNet', depth=18)
    assert got['data_preprocessor'] == dict(mean=[1, 2, 3], std=[4, 5, 6], to_rgb=True)
    assert got['head'] is None and got['type'] == 'ImageClassifier'


def test_feature_cache_keys_and_reasons(tmp_path):
    paths = _images(str(tmp_path / 'img'), n=4)
    model = _model()
    loader = _loader(paths)
    parts = FeatureCache.key_parts(model, dict(a=1), dict(b=2), loader.dataset)
    assert set(parts) == set(FeatureCache.PARTS) and parts['num_samples'] == 4
    # the weights' hash follows the content (not a file name)
    h = state_dict_sha256(model)
    with torch.no_grad():
        model.backbone.conv1.weight[0, 0, 0, 0] += 1e-3
    assert state_dict_sha256(model) != h
    files = dataset_files_sha256(loader.dataset)
    os.utime(paths[2], ns=(1, 1))
    assert dataset_files_sha256(loader.dataset) != files
    cache = FeatureCache(str(tmp_path / 'cache'))
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())
    logger.addHandler(handler)
    try:
        assert cache.load('query', parts) is None
        feats = torch.randn(4, 8)
        cache.save('query', parts, feats)
        torch.testing.assert_close(cache.load('query', parts), feats)
        other = dict(parts, weights='x', data='y')
        assert cache.load('query', other) is None
    finally:
        logger.removeHandler(handler)
    assert any('no entry for the query set' in r for r in records)
    assert any(r.startswith('feature cache: reusing') for r in records)
    assert any('the model weights differ; the dataset/pipeline config differs' in r
               for r in records)
    assert len(glob.glob(str(tmp_path / 'cache' / 'query_*.pt'))) == 1
    with pytest.raises(FileNotFoundError, match='02.png .*does not exist'):
        os.remove(paths[2])
        dataset_files_sha256(loader.dataset)
