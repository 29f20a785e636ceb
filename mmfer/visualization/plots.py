# Copyright (c) mmfer contributors. All rights reserved.
"""Figures of training logs and feature embeddings (matplotlib, Agg; no display needed)."""
import os
import os.path as osp
from typing import Dict, Mapping, Sequence

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_scalars(logs: Mapping[str, Sequence[dict]],
                 panels: Sequence[dict],
                 out_file: str,
                 x_key: str = 'step',
                 panel_size: Sequence[float] = (6.0, 4.0),
                 dpi: int = 110) -> str:
    """Curves of logged scalars, one panel per group of keys, one curve per run and key.

    Args:
        logs (Mapping[str, Sequence[dict]]): Run label -> rows of scalars, as in mmengine's
            ``vis_data/scalars.json`` (each row a dict with ``x_key`` and scalar values).
        panels (Sequence[dict]): One dict per panel: ``keys`` (scalar names; a run without
            a key is skipped for it), optional ``title``, ``ylabel`` and ``hlines``
            (``{label: y}`` reference lines). A curve's label is ``'<run>: <key>'``.
        out_file (str): PNG to write (folders are created).
        x_key (str): The x value of each row. Defaults to ``'step'``.
        panel_size (Sequence[float]): (width, height) of a panel in inches.
        dpi (int): Resolution. Defaults to 110.

    Returns:
        str: ``out_file``.

    Raises:
        ValueError: no panels, or no panel has any curve (wrong keys / empty logs).
    """
    if not panels:
        raise ValueError('plot_scalars: no panels given')
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), squeeze=False,
                             figsize=(panel_size[0] * len(panels), panel_size[1]))
    curves = 0
    for ax, panel in zip(axes[0], panels):
        for run, rows in logs.items():
            for key in panel['keys']:
                pts = [(r[x_key], r[key]) for r in rows if key in r and x_key in r]
                if not pts:
                    continue
                x, y = zip(*pts)
                ax.plot(x, y, label=f'{run}: {key}')
                curves += 1
        for label, y in panel.get('hlines', {}).items():
            ax.axhline(y, color='grey', ls=':', lw=1, label=label)
        ax.set_xlabel('iteration' if x_key == 'step' else x_key)
        if panel.get('ylabel'):
            ax.set_ylabel(panel['ylabel'])
        ax.set_title(panel.get('title', ', '.join(panel['keys'])))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    if curves == 0:
        plt.close(fig)
        raise ValueError(f'plot_scalars: none of the keys '
                         f'{sorted({k for p in panels for k in p["keys"]})} is in the logs of '
                         f'{sorted(logs)}')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
    return out_file


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0,
                   normalize: bool = True) -> np.ndarray:
    """2-D t-SNE (scikit-learn, PCA init) of features.

    Args:
        features (np.ndarray): (N, D) features, N >= 4.
        seed (int): ``random_state``. Defaults to 0.
        perplexity (float): Upper bound; lowered to (N - 1) / 3 for small N.
        normalize (bool): L2-normalise the features first (cosine geometry).

    Returns:
        np.ndarray: (N, 2) float embedding.
    """
    from sklearn.manifold import TSNE
    feats = np.asarray(features, np.float64)
    if feats.ndim != 2 or len(feats) < 4:
        raise ValueError(f't-SNE needs (N >= 4, D) features, got shape {feats.shape}')
    if not np.isfinite(feats).all():
        raise ValueError('t-SNE: the features contain NaN or inf')
    if normalize:
        feats = feats / np.linalg.norm(feats, axis=1, keepdims=True).clip(1e-12)
    return TSNE(n_components=2, init='pca', perplexity=min(perplexity, (len(feats) - 1) / 3),
                random_state=seed).fit_transform(feats)


#: What :func:`embed_2d` can do; UMAP needs the optional ``umap-learn`` package.
EMBEDDING_METHODS = ('tsne', 'umap', 'pca')
UMAP_INSTALL_HINT = '`pip install -e .[umap]` (umap-learn, with numba)'


def embed_2d(features: np.ndarray, method: str = 'tsne', seed: int = 0,
             perplexity: float = 30.0, n_neighbors: int = 15,
             normalize: bool = True) -> np.ndarray:
    """2-D embedding of (N, D) features by t-SNE (scikit-learn), UMAP or PCA.

    Args:
        features (np.ndarray): (N, D) features, N >= 4.
        method (str): ``'tsne'`` (:func:`tsne_embedding`), ``'umap'`` (umap-learn,
            ``n_neighbors`` capped at N - 1) or ``'pca'``.
        seed (int): Random state. Defaults to 0.
        perplexity (float): t-SNE perplexity (see :func:`tsne_embedding`).
        n_neighbors (int): UMAP neighbourhood size. Defaults to 15 (umap-learn's).
        normalize (bool): L2-normalise the features first (cosine geometry).

    Raises:
        ImportError: ``'umap'`` without umap-learn (the message names the extra).
    """
    if method not in EMBEDDING_METHODS:
        raise ValueError(f'method must be one of {EMBEDDING_METHODS}, got {method!r}')
    if method == 'tsne':
        return tsne_embedding(features, seed=seed, perplexity=perplexity, normalize=normalize)
    feats = np.asarray(features, np.float64)
    if feats.ndim != 2 or len(feats) < 4:
        raise ValueError(f'{method}: needs (N >= 4, D) features, got shape {feats.shape}')
    if not np.isfinite(feats).all():
        raise ValueError(f'{method}: the features contain NaN or inf')
    if normalize:
        feats = feats / np.linalg.norm(feats, axis=1, keepdims=True).clip(1e-12)
    if method == 'pca':
        from sklearn.decomposition import PCA
        return PCA(n_components=2, random_state=seed).fit_transform(feats)
    try:
        import umap
    except ImportError as e:
        raise ImportError(f'UMAP needs umap-learn: {UMAP_INSTALL_HINT}; or use t-SNE') from e
    return umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, len(feats) - 1),
                     random_state=seed).fit_transform(feats)


def plot_embedding(features: Mapping[str, np.ndarray],
                   labels: Mapping[str, Sequence],
                   out_file: str,
                   seed: int = 0,
                   perplexity: float = 30.0,
                   max_legend: int = 20,
                   point_size: float = 6.0,
                   dpi: int = 100,
                   method: str = 'tsne') -> Dict[str, np.ndarray]:
    """2-D map (t-SNE by default) of one or more feature sets, coloured by each labelling
    (e.g. expression and identity): one column per feature set, one row per labelling.

    Labellings with at most ``max_legend`` distinct values get one colour each and a legend;
    larger ones (e.g. hundreds of identities) are coloured by value index modulo 20 (tab20)
    and the title gives their number.

    Args:
        features (Mapping[str, np.ndarray]): Name (e.g. the checkpoint) -> (N, D) features;
            every set has the same N samples in the same order.
        labels (Mapping[str, Sequence]): Labelling name -> N labels (any hashable values).
        out_file (str): PNG to write (folders are created).
        seed (int): t-SNE seed. Defaults to 0.
        perplexity (float): See :func:`tsne_embedding`.
        max_legend (int): Largest labelling drawn with a legend. Defaults to 20.
        point_size (float): Marker size. Defaults to 6.
        dpi (int): Resolution. Defaults to 100.
        method (str): ``'tsne'``, ``'umap'`` or ``'pca'`` (see :func:`embed_2d`).

    Returns:
        dict: name -> (N, 2) embedding.
    """
    if method not in EMBEDDING_METHODS:
        raise ValueError(f'method must be one of {EMBEDDING_METHODS}, got {method!r}')
    if not features or not labels:
        raise ValueError('plot_embedding: give at least one feature set and one labelling')
    n = {name: len(f) for name, f in features.items()}
    n.update({f'labels {k}': len(v) for k, v in labels.items()})
    if len(set(n.values())) != 1:
        raise ValueError(f'plot_embedding: features and labels differ in length: {n}')
    plt = _pyplot()
    names = list(features)
    fig, axes = plt.subplots(len(labels), len(names), squeeze=False,
                             figsize=(5 * len(names), 4.75 * len(labels)))
    embeddings = {}
    tag = '' if method == 'tsne' else f' [{method.upper()}]'
    for col, name in enumerate(names):
        emb = embed_2d(features[name], method, seed=seed, perplexity=perplexity)
        embeddings[name] = emb
        for row, (what, values) in enumerate(labels.items()):
            ax = axes[row, col]
            values = list(values)
            classes = sorted(set(values), key=str)
            if len(classes) <= max_legend:
                for c in classes:
                    m = np.array([v == c for v in values])
                    ax.scatter(emb[m, 0], emb[m, 1], s=point_size, label=str(c))
                ax.legend(fontsize=6, markerscale=2)
                ax.set_title(f'{name}: coloured by {what}' + tag)
            else:
                index = {c: i for i, c in enumerate(classes)}
                ax.scatter(emb[:, 0], emb[:, 1], s=point_size, cmap='tab20',
                           c=[index[v] % 20 for v in values])
                ax.set_title(f'{name}: coloured by {what} ({len(classes)} values)' + tag)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
    return embeddings


__all__ = ['plot_scalars', 'plot_embedding', 'tsne_embedding', 'embed_2d', 'EMBEDDING_METHODS']
