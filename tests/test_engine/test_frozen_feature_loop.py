# Copyright (c) mmfer contributors. All rights reserved.
"""FrozenFeatureTestLoop through mmfer's Runner: features, metrics, cache, no substitution."""
import glob
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmfer.evaluation import (extract_features, knn_accuracy, linear_probe_eval,
                              pool_features, triplet_accuracy)
from mmfer.registry import MODELS, RUNNERS
from mmfer.utils import load_checkpoint_file

R18 = dict(type='ResNet', depth=18, out_indices=(3, ), norm_cfg=dict(type='BN'))
MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)


def _checkpoint(path, seed=0):
    torch.manual_seed(seed)
    net = MODELS.build(R18)
    with torch.no_grad():  # non-trivial BN statistics: loading errors would show
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in net.state_dict().items()}},
               path)
    net.eval()  # (mmpretrain's ResNet.train returns None)
    return net


def _reference_feats(net, paths):
    """Features computed here, independently of mmfer's data path."""
    imgs = np.stack([cv2.imread(p) for p in paths])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().flip(1)  # BGR -> RGB
    with torch.no_grad():
        return pool_features(net((x - MEAN) / STD))


def _runner(cfg_path, work, ckpt, **options):
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work)
    cfg.load_from = str(ckpt)
    cfg.merge_from_dict(options)
    return RUNNERS.build(cfg)


def _log(work):
    return '\n'.join(open(f).read() for f in glob.glob(osp.join(work, '*', '*.log')))


def test_loop_features_and_metrics(frozen_eval_config, tmp_path):
    net = _checkpoint(tmp_path / 'ckpt.pth')
    runner = _runner(frozen_eval_config('knn'), tmp_path / 'work', tmp_path / 'ckpt.pth')
    metrics = runner.test()
    assert (metrics['num_bank'], metrics['num_query'], metrics['feature_dim']) == (42, 14, 512)
    loop = runner.test_loop
    # the cached features are the checkpoint's, computed independently
    caches = {osp.basename(f).split('_')[0]: f
              for f in glob.glob(str(tmp_path / 'work' / 'feature_cache' / '*.pt'))}
    assert sorted(caches) == ['bank', 'query']
    bank_set, query_set = loop.bank_dataloader.dataset, loop.dataloader.dataset
    bank_paths = [bank_set.get_data_info(i)['img_path'] for i in range(len(bank_set))]
    query_paths = [query_set.get_data_info(i)['img_path'] for i in range(len(query_set))]
    bank = load_checkpoint_file(caches['bank'])['feats']
    query = load_checkpoint_file(caches['query'])['feats']
    torch.testing.assert_close(bank, _reference_feats(net, bank_paths), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(query, _reference_feats(net, query_paths), rtol=1e-4,
                               atol=1e-4)
    # the metrics are the pure functions on these features
    bank_y = torch.tensor(bank_set.get_gt_labels())
    query_y = torch.tensor(query_set.get_gt_labels())
    knn = knn_accuracy(bank, bank_y, query, query_y, (3, 10), num_classes=7)
    for k in (3, 10):
        assert metrics[f'knn/k={k}/accuracy'] == pytest.approx(100 * knn[k]['accuracy'])
        assert metrics[f'knn/k={k}/macro_f1'] == pytest.approx(100 * knn[k]['macro_f1'])
    # the synthetic RAF-DB layout records identities: the validation split keeps people whole
    ids = [bank_set.get_data_info(i).get('identity') for i in range(len(bank_set))]
    assert None not in ids
    lin = linear_probe_eval(bank, bank_y, query, 7, bank_groups=ids, epochs=20)
    assert metrics['linear/weight_decay'] == lin['weight_decay']
    assert metrics['linear/selection'] == 'validation'
    assert metrics['linear/accuracy'] == pytest.approx(
        100 * float((lin['pred'] == query_y).double().mean()))
    assert metrics['linear/val/num_fit'] + metrics['linear/val/num_val'] == 42


def test_cache_is_keyed_on_image_files(frozen_eval_config, tiny_eval_data,
                                                   tmp_path):
    from mmfer.datasets.synthetic.writers import write_rafdb
    data = tmp_path / 'rafdb'
    shutil.copytree(tiny_eval_data / 'rafdb', data)
    cfg = frozen_eval_config('knn', extra=f"""
test_dataloader = dict(dataset=dict(data_root={str(data)!r}))
test_cfg = dict(_delete_=True, type='FrozenFeatureTestLoop')  # query only: faster
test_evaluator = [dict(type='EffectiveRank')]
""")
    _checkpoint(tmp_path / 'ckpt.pth')
    work = str(tmp_path / 'work')
    first = _runner(cfg, work, tmp_path / 'ckpt.pth').test()
    assert 'no entry for the query set' in _log(work)
    again = _runner(cfg, work, tmp_path / 'ckpt.pth').test()
    assert again == first
    assert _log(work).count('feature cache: reusing') == 1
    # the same number of images, regenerated: never the old features
    write_rafdb(str(data), num_train=42, num_test=14, image_size=32, seed=99,
                num_identities=8)
    fresh = _runner(cfg, work, tmp_path / 'ckpt.pth').test()
    log = _log(work)
    assert log.count('the image files differ (path, size or mtime)') == 1, log[-3000:]
    assert log.count('feature cache: reusing') == 1
    assert fresh != first
    no_cache = _runner(cfg, str(tmp_path / 'nocache'), tmp_path / 'ckpt.pth',
                       test_cfg=dict(cache=False)).test()
    assert fresh == no_cache
    assert not osp.exists(tmp_path / 'nocache' / 'feature_cache')
    # other weights under the same file name: not reused either (unit-tested in
    # tests/test_evaluation/test_features.py)


def test_unreadable_image_is_an_error_never_a_substitution(frozen_eval_config, tiny_eval_data,
                                                           tmp_path):
    data = tmp_path / 'rafdb'
    shutil.copytree(tiny_eval_data / 'rafdb', data)
    bad = sorted(glob.glob(str(data / 'Image' / 'aligned' / 'train_*')))[3]
    open(bad, 'wb').close()  # zero bytes
    pipe = ("[dict(type='LoadFaceImage', ignore_empty=True), dict(type='Resize', "
            "scale=(32, 32)), dict(type='PackInputs')]")
    cfg = frozen_eval_config('knn', extra=f"""
test_dataloader = dict(dataset=dict(data_root={str(data)!r}))
test_cfg = dict(bank_dataloader=dict(dataset=dict(data_root={str(data)!r}, pipeline={pipe},
                                                  test_mode=False)))
""")
    _checkpoint(tmp_path / 'ckpt.pth')
    runner = _runner(cfg, tmp_path / 'work', tmp_path / 'ckpt.pth')
    # test_mode=False (mmengine would draw another image and keep this label) is overridden
    assert runner.test_loop.bank_dataloader.dataset.test_mode is True
    with pytest.raises(ValueError, match=r'bank features: the pipeline of a RAFDB sample '
                       r'returned None .*never substitutes another image'):
        runner.test()
    assert osp.basename(bad) in _log(str(tmp_path / 'work'))  # LoadFaceImage's warning
    # extract_features refuses a dataset built with test_mode=False
    loader = runner.build_dataloader(dict(
        batch_size=4, sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='RAFDB', data_root=str(data), split='test', test_mode=False,
                     pipeline=[dict(type='LoadFaceImage'), dict(type='PackInputs')])))
    with pytest.raises(ValueError, match='test_mode=False: .* substitutes another image'):
        extract_features(runner.model, loader)


def test_fec_triplets_from_unique_images(frozen_eval_config, tiny_eval_data, tmp_path):
    net = _checkpoint(tmp_path / 'ckpt.pth')
    runner = _runner(frozen_eval_config('fec'), tmp_path / 'work', tmp_path / 'ckpt.pth')
    metrics = runner.test()
    assert metrics['num_query'] == 24 and 'num_bank' not in metrics  # unique images
    names = sorted(os.listdir(tiny_eval_data / 'fec' / 'images'))  # t{t}_{j}: triplet order
    feats = _reference_feats(net, [str(tiny_eval_data / 'fec' / 'images' / n) for n in names])
    idx = np.arange(24).reshape(8, 3)
    odd = np.arange(8) % 3
    for m in ('l2', 'cosine'):
        ref = 100 * triplet_accuracy(feats[idx[:, 0]], feats[idx[:, 1]], feats[idx[:, 2]], odd,
                                     m)
        assert metrics[f'fec/accuracy_{m}'] == pytest.approx(ref, abs=1e-6)
        assert metrics[f'fec/accuracy_{m}_two_class'] == pytest.approx(ref, abs=1e-6)


def test_bank_metrics_need_a_bank(frozen_eval_config, tmp_path):
    cfg = frozen_eval_config('knn', extra='test_cfg = dict(_delete_=True, '
                                          "type='FrozenFeatureTestLoop')")
    _checkpoint(tmp_path / 'ckpt.pth')
    runner = _runner(cfg, tmp_path / 'work', tmp_path / 'ckpt.pth')
    with pytest.raises(ValueError, match='KNNAccuracy, LinearProbe compare the test set with '
                       'a labelled bank: give test_cfg.bank_dataloader'):
        runner.test()


def test_identity_metrics_and_grouped_probe_from_meta_csv(frozen_eval_config, tiny_eval_data,
                                                         tmp_path):
    """Sets that carry ``identity`` (ImageListDataset on the synthetic faces' meta.csv):
    IdentityNN / EffectiveRank in a test_evaluator, the probe's validation split by person."""
    root = str(tiny_eval_data / 'rafdb')

    def images(split):
        return (f"dict(type='ImageListDataset', ann_file='meta.csv', data_root={root!r}, "
                f"path_regex='/{split}_', serialize_data=False, pipeline=[dict(type="
                "'LoadFaceImage'), dict(type='Resize', scale=(32, 32)), dict(type='PackInputs')])")

    cfg = frozen_eval_config('knn', extra=f"""
test_dataloader = dict(dataset=dict(_delete_=True, **{images('test')}))
test_cfg = dict(bank_dataloader=dict(dataset=dict(_delete_=True, **{images('train')})))
test_evaluator = [dict(type='LinearProbe', epochs=10, wd_grid=(1e-3, 1.0)),
                  dict(type='IdentityNN'), dict(type='EffectiveRank')]
""")
    _checkpoint(tmp_path / 'ckpt.pth')
    metrics = _runner(cfg, tmp_path / 'work', tmp_path / 'ckpt.pth').test()
    assert metrics['linear/val/grouped'] == 1  # whole people held out
    assert 0 <= metrics['identity_nn/accuracy'] <= 100
    assert 0 < metrics['identity_nn/num_queries'] <= 14
    assert 1 <= metrics['feature_rank/effective_rank'] <= 14
    assert 1 <= metrics['feature_rank/pcs_90'] <= 14 and metrics['feature_rank/dim'] == 512
