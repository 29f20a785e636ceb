# Copyright (c) mmfer contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from mmfer.visualization import plot_embedding, plot_scalars, tsne_embedding


def test_plot_scalars_writes_a_png_of_the_expected_size(tmp_path):
    logs = {'run A': [dict(step=i, loss=1.0 / i, sim12=0.1 * i) for i in range(1, 6)],
            'run B': [dict(step=i, loss=2.0 / i) for i in range(1, 6)]}
    out = plot_scalars(logs, [dict(keys=['loss'], title='loss'),
                              dict(keys=['sim12'], hlines={'s_t': 0.6})],
                       str(tmp_path / 'sub' / 'curves.png'), dpi=50)
    img = cv2.imread(out)
    assert img.shape == (4 * 50, 2 * 6 * 50, 3)  # 2 panels of 6 x 4 inches at 50 dpi
    assert img.std() > 5
    with pytest.raises(ValueError, match="none of the keys \\['nope'\\]"):
        plot_scalars(logs, [dict(keys=['nope'])], str(tmp_path / 'x.png'))


def test_tsne_embedding_separates_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 5
    labels = np.repeat(np.arange(3), 20)
    feats = centres[labels] + 0.1 * rng.standard_normal((60, 8))
    emb = tsne_embedding(feats, seed=0)
    assert emb.shape == (60, 2)
    means = np.stack([emb[labels == c].mean(0) for c in range(3)])
    spread = max(np.linalg.norm(emb[labels == c] - means[c], axis=1).mean() for c in range(3))
    gaps = [np.linalg.norm(means[a] - means[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > 3 * spread
    with pytest.raises(ValueError, match='NaN'):
        tsne_embedding(np.full((5, 2), np.nan))


def test_plot_embedding_grid(tmp_path):
    rng = np.random.default_rng(1)
    feats = {'a': rng.standard_normal((40, 6)), 'b': rng.standard_normal((40, 6))}
    labels = dict(expression=['happy', 'sad'] * 20, identity=np.arange(40))  # 40 > legend
    emb = plot_embedding(feats, labels, str(tmp_path / 'tsne.png'), dpi=40)
    assert set(emb) == {'a', 'b'} and emb['a'].shape == (40, 2)
    img = cv2.imread(str(tmp_path / 'tsne.png'))
    assert img.shape == (int(4.75 * 2 * 40), 5 * 2 * 40, 3)  # 2 rows x 2 columns
    with pytest.raises(ValueError, match='differ in length'):
        plot_embedding(feats, dict(expression=['x'] * 3), str(tmp_path / 'y.png'))
