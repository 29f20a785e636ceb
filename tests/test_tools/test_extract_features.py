# Copyright (c) mmfer contributors. All rights reserved.
"""Feature export (mmfer.apis.feature_export) and the two tools: extract_features.py ->
feats.npz -> visualize_embedding.py -> a PNG coloured by label."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmfer.apis.feature_export import (export_dataset_features, export_folder_features,
                                       load_features, save_features)
from mmfer.evaluation import extract_features
from mmfer.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RAFDB_CLASSES = ['Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness', 'Anger', 'Neutral']


@pytest.fixture
def knn_setup(frozen_eval_config, tmp_path):
    """A frozen-feature RAF-DB config on the tiny synthetic set and a random checkpoint."""
    config = frozen_eval_config('knn')
    cfg = Config.fromfile(config)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, ckpt)
    return config, ckpt, model.eval()


def test_dataset_export_matches_extract_features_and_is_cached(knn_setup, tmp_path):
    config, ckpt, model = knn_setup
    cache = str(tmp_path / 'cache')
    export = export_dataset_features(config, ckpt, 'test_dataloader', cache_dir=cache)
    cfg = Config.fromfile(config)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    ref = extract_features(model, loader, progress=False)
    np.testing.assert_allclose(export['feats'], ref['feats'].numpy(), atol=1e-5)
    assert export['feats'].shape == (14, 512)
    np.testing.assert_array_equal(export['labels'], ref['gt_label'].numpy())
    assert list(export['identities']) == [str(int(i)) for i in ref['identity']]
    assert list(export['paths']) == ref['img_path'] and export['classes'] == RAFDB_CLASSES
    assert set(export['videos']) == {''}  # RAF-DB has no videos
    # a second export reads the cache (same numbers, nothing extracted)
    assert len(os.listdir(cache)) == 2  # <name>_<key>.pt + .json
    again = export_dataset_features(config, ckpt, 'test_dataloader', cache_dir=cache)
    np.testing.assert_array_equal(again['feats'], export['feats'])
    np.testing.assert_array_equal(again['labels'], export['labels'])
    # the .npz round trip (no pickles)
    path = save_features(str(tmp_path / 'f.npz'), export)
    back = load_features(path)
    np.testing.assert_array_equal(back['feats'], export['feats'])
    assert list(back['classes']) == RAFDB_CLASSES and back['paths'][0] == export['paths'][0]
    with pytest.raises(KeyError, match="has no 'train_dataloader' with a dataset"):
        export_dataset_features(config, ckpt, 'train_dataloader')


def test_folder_export_detects_faces_and_labels_by_folder(knn_setup, tmp_path):
    pytest.importorskip('dlib', reason='the [dlib] extra is not installed')
    skimage_data = pytest.importorskip('skimage.data')
    config, ckpt, _ = knn_setup
    root = tmp_path / 'photos'
    (root / 'people').mkdir(parents=True)
    (root / 'walls').mkdir()
    cv2.imwrite(str(root / 'people' / 'astronaut.png'), skimage_data.astronaut()[..., ::-1])
    cv2.imwrite(str(root / 'walls' / 'grey.png'), np.full((120, 120, 3), 128, np.uint8))
    export = export_folder_features(config, ckpt, str(root), label_from_folder=True)
    assert export['feats'].shape == (1, 512) and np.isfinite(export['feats']).all()
    assert export['classes'] == ['people', 'walls'] and list(export['labels']) == [0]
    assert export['failures'] == [(str(root / 'walls' / 'grey.png'), 'no face')]


@pytest.mark.slow  # two tool processes (imports, model, t-SNE): ~40 s on 2 loaded cores
def test_tools_export_then_plot_coloured_by_label(knn_setup, tmp_path):
    config, ckpt, _ = knn_setup
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    feats = str(tmp_path / 'out' / 'feats.npz')
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/extract_features.py', config, ckpt,
         '--data', 'test_dataloader', '--out', feats, '--device', 'cpu'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert proc.stdout.splitlines()[-2:] == [
        '14 embeddings of dimension 512 from test_dataloader (14 labelled)',
        f'features: {feats}']
    assert osp.isdir(osp.join(osp.dirname(feats), 'feature_cache'))
    png = str(tmp_path / 'emb.png')
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/visualize_embedding.py', feats,
         '--method', 'tsne', '--color-by', 'label', 'identity', '--out', png],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    img = cv2.imread(png)
    assert img is not None and img.shape[0] > img.shape[1]  # two rows: label, identity
    assert proc.stdout.splitlines()[-1] == f'picture: {png}'
    # an unknown field is refused with the file named
    np.savez(str(tmp_path / 'bare.npz'), feats=np.ones((5, 3), np.float32))
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/visualize_embedding.py',
         str(tmp_path / 'bare.npz'), '--color-by', 'video', '--out', png],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1 and 'bare.npz has no videos to colour by' in proc.stderr


def test_umap_and_pca_embeddings(tmp_path):
    from mmfer.visualization import embed_2d
    x = np.random.default_rng(0).normal(size=(40, 8))
    pca = embed_2d(x, 'pca')
    assert pca.shape == (40, 2)
    pytest.importorskip('umap', reason='umap-learn (the [umap] extra) is not installed')
    assert embed_2d(x, 'umap').shape == (40, 2)
