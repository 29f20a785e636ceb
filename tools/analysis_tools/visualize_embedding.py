#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""2-D map of exported embeddings (t-SNE, UMAP or PCA), coloured by label / identity / video.

Examples::

    python tools/analysis_tools/visualize_embedding.py work_dirs/feats/rafdb_test.npz \\
        --method tsne --color-by label identity --out work_dirs/feats/rafdb_tsne.png
    # two checkpoints side by side (same samples, e.g. before / after pre-training)
    python tools/analysis_tools/visualize_embedding.py random.npz trained.npz --method umap \\
        --color-by label --out compare.png                        # umap: pip install -e .[umap]

Reads ``.npz`` files of ``tools/analysis_tools/extract_features.py``: one column per file,
one row per ``--color-by`` field (labels are drawn with their class names). As mmpretrain's
``tools/visualization/vis_tsne.py``, over :func:`mmfer.visualization.plot_embedding`;
features are L2-normalised first (cosine geometry).
"""
import argparse
import os
import os.path as osp
import sys

FIELDS = dict(label='labels', identity='identities', video='videos')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Plot exported embeddings in 2-D')
    p.add_argument('features', nargs='+', help='.npz files of extract_features.py')
    p.add_argument('--method', default='tsne', choices=['tsne', 'umap', 'pca'])
    p.add_argument('--color-by', nargs='+', default=['label'], choices=sorted(FIELDS))
    p.add_argument('--out', required=True, help='output PNG')
    p.add_argument('--max-points', type=int, default=None,
                   help='plot a seeded random subset of this many samples')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--perplexity', type=float, default=30.0, help='t-SNE perplexity')
    p.add_argument('--names', nargs='+', default=None,
                   help='column titles (default: the file names)')
    args = p.parse_args(argv)
    if args.max_points is not None and args.max_points < 4:
        p.error('--max-points must be >= 4')
    if args.names is not None and len(args.names) != len(args.features):
        p.error(f'--names: {len(args.names)} names for {len(args.features)} files')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    import numpy as np

    from mmfer.apis.feature_export import load_features
    from mmfer.visualization import plot_embedding
    sets = [load_features(path) for path in args.features]
    n = len(sets[0]['feats'])
    for path, s in zip(args.features, sets):
        if len(s['feats']) != n:
            raise ValueError(f'{path} has {len(s["feats"])} samples, {args.features[0]} has '
                             f'{n}: files plotted together must hold the same samples')
    ref = sets[0]
    labels = {}
    for field in args.color_by:
        values = ref.get(FIELDS[field])
        known = None if values is None else (values >= 0 if field == 'label'
                                             else values != '')
        if values is None or not known.any():
            raise ValueError(f'{args.features[0]} has no {field}s to colour by (all unknown)')
        if field == 'label':
            classes = list(ref.get('classes', []))
            values = [classes[v] if 0 <= v < len(classes) else
                      (str(v) if v >= 0 else 'unknown') for v in values.tolist()]
        else:
            values = [v if v else 'unknown' for v in values.tolist()]
        labels[field] = values
    keep = np.arange(n)
    if args.max_points is not None and n > args.max_points:
        keep = np.sort(np.random.default_rng(args.seed).choice(n, args.max_points,
                                                               replace=False))
    names = args.names or [osp.splitext(osp.basename(p))[0] for p in args.features]
    if len(set(names)) != len(names):
        names = [f'{i}: {name}' for i, name in enumerate(names)]
    emb = plot_embedding({name: s['feats'][keep] for name, s in zip(names, sets)},
                         {k: [v[i] for i in keep] for k, v in labels.items()}, args.out,
                         seed=args.seed, perplexity=args.perplexity, method=args.method)
    print(f'{args.method} of {len(keep)} samples x {len(sets)} feature set(s), coloured by '
          f'{", ".join(args.color_by)}')
    print(f'picture: {args.out}', flush=True)
    return emb


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, ImportError) as e:
        if os.environ.get('MMFER_DEBUG'):
            raise
        sys.exit(f'tools/analysis_tools/visualize_embedding.py: error: {e}')
